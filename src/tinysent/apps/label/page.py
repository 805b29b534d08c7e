# ruff: noqa: E501 (HTML, CSS and JavaScript: their lines are not wrapped)
"""The labelling page: one tweet at a time, a button per label (keys 1-9; Enter takes the model's
guess; S skips; U or Backspace undoes), the model's guess and confidence, each word's weight toward
the guess (why this label?), a running count per label, and the latest model's score."""

from __future__ import annotations

from tinysent.apps.serve.pages import HIGHLIGHT_JS, STYLE

LABEL_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tinysent label</title>
<style>{STYLE}
#tweet{{font-size:20px;line-height:1.8;min-height:3em;margin:14px 0}}
.btn{{min-width:110px}}.btn.guess{{outline:3px solid #ff8c00}}.key{{font-size:11px;color:#888;margin-left:6px}}
#saved{{color:#1b7f3b;font-size:14px;min-height:1.2em}}#counts span{{margin-right:14px}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ddd;padding:3px 8px}}
</style></head><body>
<h1>tinysent label</h1>
<div id="counts"></div>
<div class="tweet"><div id="guess" class="probs"></div><div id="tweet" class="text"></div>
<div id="buttons"></div>
<div><button id="skip">skip <span class="key">S</span></button><button id="undo">undo <span class="key">U</span></button>
<button id="export">train the final model</button></div></div>
<div id="saved"></div>
<div id="model" class="note"></div>
<table id="rounds"></table>
<p class="note">Keys: 1-9 label, Enter takes the model's guess, S skip, U (or Backspace) undo. Every label is written
to disk before the next tweet appears. Word colours: orange pushed the model toward its guess, blue away from it
(its probability with the tweet minus without the word).</p>
<script>{HIGHLIGHT_JS}
const token=new URLSearchParams(location.hash.slice(1)).get('token');
let state=null, busy=false;
async function call(path, body){{
  const headers={{'content-type':'application/json'}};
  if(token) headers['authorization']='Bearer '+token;
  const r=await fetch(path,{{method:body===undefined?'GET':'POST',headers,body:body===undefined?undefined:JSON.stringify(body)}});
  const j=await r.json();
  if(!r.ok && !j.state) throw new Error(j.error||r.statusText);
  return j.state||j;
}}
function nextRound(w){{
  const parts=[];
  if(w.labels) parts.push(`${{w.labels}} more label${{w.labels===1?'':'s'}}`);
  for(const [k,v] of Object.entries(w.per_label)) parts.push(`${{v}} more “${{esc(k)}}”`);
  return parts.length?parts.join(' and '):'the round starts now';
}}
function render(s){{
  state=s;
  document.getElementById('counts').innerHTML=s.labels.map((l,i)=>`<span><b>${{esc(l)}}</b> ${{s.counts[l]}}</span>`).join('')
    +`<span class="note">${{s.labelled}} labelled, ${{s.skipped}} skipped of ${{s.pool}}; saved in ${{esc(s.out)}}</span>`;
  const t=s.tweet;
  document.getElementById('tweet').innerHTML=t?esc(t.text):'<i>every tweet is labelled or skipped</i>';
  document.getElementById('tweet').dataset.id=t?t.id:'';
  document.getElementById('guess').innerHTML=t&&t.guess?`model's guess: <b>${{esc(t.guess)}}</b> (${{(t.probabilities[t.guess]*100).toFixed(0)}} %)`:'';
  document.getElementById('buttons').innerHTML=s.labels.map((l,i)=>
    `<button class="btn${{t&&t.guess===l?' guess':''}}" data-label="${{esc(l)}}">${{esc(l)}}${{i<9?`<span class="key">${{i+1}}</span>`:''}}</button>`).join('');
  document.querySelectorAll('#buttons .btn').forEach(b=>b.onclick=()=>send(b.dataset.label));
  document.getElementById('undo').disabled=!s.can_undo;
  const last=s.rounds.filter(r=>r.score!==undefined).slice(-1)[0];
  document.getElementById('model').innerHTML=(s.model?`guesses by <b>${{esc(s.model)}}</b>`:'no model guesses yet: the tweets are spread over the pool')
    +(s.scoring?` · the shipped model is scoring the pool: ${{s.scoring.done.toLocaleString()}} of ${{s.scoring.total.toLocaleString()}} tweets`:'')
    +(s.training?` · fine-tuning on ${{s.training}} labels in the background`:(s.next_round?` · next fine-tune after ${{nextRound(s.next_round)}}`:''))
    +(s.export.status?` · final model: ${{esc(s.export.status)}} ${{esc(s.export.folder||'')}}`:'')
    +(s.export.commands?'<pre>'+s.export.commands.map(esc).join('\\n')+'</pre>':'');
  document.getElementById('rounds').innerHTML=s.rounds.length?'<tr><th>round</th><th>labels</th><th>score on its held-out labels (95 % CI)</th><th>n</th></tr>'
    +s.rounds.map(r=>r.error?`<tr><td>${{esc(r.round)}}</td><td colspan=3>${{esc(r.error)}}</td></tr>`
      :`<tr><td>${{esc(r.round)}}</td><td>${{r.labels_used}}</td><td>${{esc(r.metric)}} ${{r.score.toFixed(3)}} ${{r.score_ci95?`(${{r.score_ci95[0].toFixed(3)}}–${{r.score_ci95[1].toFixed(3)}})`:`<span class="note">(only ${{r.val_n}} held-out labels: too few for an interval, the score says little)</span>`}}</td><td>${{r.val_n}}</td></tr>`).join(''):'';
  if(t) explain(t.id);
}}
async function explain(id){{
  try{{
    const e=await call('/api/explain?id='+id);
    if(e.explanation && state.tweet && state.tweet.id===id)
      document.getElementById('tweet').innerHTML=highlight(state.tweet.text,e.explanation);
  }}catch(err){{}}
}}
async function act(path, body, note){{
  if(busy) return; busy=true;
  try{{ render(await call(path, body)); document.getElementById('saved').textContent=note(state); }}
  catch(err){{ document.getElementById('saved').textContent='not saved: '+err.message; }}
  finally{{ busy=false; }}
}}
function send(label){{
  if(!state||!state.tweet) return;
  act('/api/label',{{id:state.tweet.id,label}},s=>`saved ✓ ${{label}} (${{s.labelled}} labels)`);
}}
document.getElementById('skip').onclick=()=>state&&state.tweet&&act('/api/skip',{{id:state.tweet.id}},s=>'skipped ✓');
document.getElementById('undo').onclick=()=>act('/api/undo',{{}},s=>'undone ✓');
document.getElementById('export').onclick=()=>act('/api/export',{{}},s=>'training the final model in the background');
document.addEventListener('keydown',e=>{{
  if(e.target.tagName==='INPUT'||e.target.tagName==='TEXTAREA') return;
  const n=parseInt(e.key,10);
  if(n>=1&&n<=9&&state&&n<=state.labels.length){{e.preventDefault();send(state.labels[n-1]);}}
  else if(e.key==='Enter'&&state&&state.tweet&&state.tweet.guess){{e.preventDefault();send(state.tweet.guess);}}
  else if(e.key==='s'||e.key==='S'){{e.preventDefault();document.getElementById('skip').click();}}
  else if(e.key==='u'||e.key==='U'||e.key==='Backspace'){{e.preventDefault();document.getElementById('undo').click();}}
}});
call('/api/state').then(render).catch(err=>{{
  document.getElementById('tweet').textContent=token?'cannot reach the labelling session: '+err.message
    :'open the address that tinysent label printed: it carries this session’s token';}});
setInterval(()=>{{ if(!busy) call('/api/state').then(s=>{{ if(!state||JSON.stringify(s.rounds)!==JSON.stringify(state.rounds)||s.training!==state.training||JSON.stringify(s.scoring)!==JSON.stringify(state.scoring)||s.model!==state.model||JSON.stringify(s.export)!==JSON.stringify(state.export)) render(s); }}).catch(()=>{{}}); }}, 5000);
</script></body></html>
"""
