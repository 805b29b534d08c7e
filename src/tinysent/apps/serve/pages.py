# ruff: noqa: E501 (HTML, CSS and JavaScript: their lines are not wrapped)
"""The service's own pages: the demo page at ``/`` (type tweets, see labels, probabilities and each
word's weight), and the pieces the labelling page shares with it (styles, the word highlighting)."""

from __future__ import annotations

STYLE = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
textarea{width:100%;font-size:15px;padding:6px}button{font-size:15px;padding:5px 14px;margin:6px 6px 6px 0}
.tweet{border:1px solid #ddd;border-radius:6px;padding:10px 12px;margin:10px 0}
.text{font-size:17px;line-height:1.9}.w{padding:2px 2px;border-radius:3px}
.label{display:inline-block;font-weight:600;padding:1px 8px;border-radius:10px;background:#eee;margin-right:8px}
.probs{font-size:13px;color:#555}.note{font-size:13px;color:#555}.err{color:#b00020}
.bar{display:inline-block;height:8px;background:#4a78c2;vertical-align:middle;margin:0 4px}
"""

# word highlighting: orange for a word that pushed toward the answer, blue for one that pushed away;
# the stronger the weight, the deeper the colour (its value in the tooltip)
HIGHLIGHT_JS = """
function esc(s){return s.replace(/[&<>"']/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));}
function highlight(text, expl){
  let out='', at=0;
  for(const e of expl){
    const a=Math.min(1, Math.abs(e.weight)*1.6).toFixed(2);
    const bg=e.weight>=0?`rgba(255,140,0,${a})`:`rgba(60,120,230,${a})`;
    out+=esc(text.slice(at,e.start));
    out+=`<span class="w" data-weight="${e.weight}" title="weight ${e.weight.toFixed(3)}" style="background:${bg}">`
      +esc(text.slice(e.start,e.end))+'</span>';
    at=e.end;
  }
  return out+esc(text.slice(at));
}
"""

DEMO_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tinysent</title>
<style>{STYLE}</style></head><body>
<h1>tinysent</h1>
<p>Type tweets, one a line, and press <b>Explain</b> (Ctrl+Enter). Each word is coloured by its weight:
<span class="w" style="background:rgba(255,140,0,.7)">orange</span> pushed the model toward its answer,
<span class="w" style="background:rgba(60,120,230,.7)">blue</span> away from it.</p>
<textarea id="texts" rows="4">I do not love this
what a great day with my friends
the meeting is at 3pm in room 204</textarea>
<div><button id="go">Explain</button><span id="tokenbox" hidden>bearer token
<input id="token" type="password" size="28"></span></div>
<div id="out"></div>
<p class="note">A word's weight is the answer's probability with the tweet minus its probability with
that word left out: how much the answer leans on the word here, not a rule about the word. It
misleads where words act together (in "not good" leaving out "good" may change little), where a
strong word is repeated (each copy alone carries little), and on sarcasm (it explains the model's
answer, right or wrong).</p>
<script>{HIGHLIGHT_JS}
async function go(){{
  const texts=document.getElementById('texts').value.split('\\n').filter(t=>t.trim());
  const headers={{'content-type':'application/json'}};
  const token=document.getElementById('token').value;
  if(token) headers['authorization']='Bearer '+token;
  const r=await fetch('/v1/explain',{{method:'POST',headers,body:JSON.stringify({{texts}})}});
  const out=document.getElementById('out');
  if(r.status===401){{document.getElementById('tokenbox').hidden=false;
    out.innerHTML='<p class="err">This service asks for a bearer token: type it above.</p>';return;}}
  const body=await r.json();
  if(!r.ok){{out.innerHTML=`<p class="err">${{esc(body.error||r.statusText)}}</p>`;return;}}
  out.innerHTML=body.predictions.map((p,i)=>{{
    const probs=Object.entries(p).filter(([k,v])=>typeof v==='number')
      .map(([k,v])=>`${{esc(k)}}<span class="bar" style="width:${{Math.round(v*80)}}px"></span>${{v.toFixed(3)}}`).join(' &nbsp; ');
    return `<div class="tweet"><div><span class="label">${{esc(p.label)}}</span><span class="probs">${{probs}}</span></div>`
      +`<div class="text">${{highlight(texts[i],p.explanation)}}</div></div>`;
  }}).join('')+`<p class="note">model ${{esc(body.model)}}</p>`;
}}
document.getElementById('go').onclick=go;
document.getElementById('texts').addEventListener('keydown',e=>{{if(e.key==='Enter'&&e.ctrlKey)go();}});
</script></body></html>
"""
