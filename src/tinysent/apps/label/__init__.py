"""``tinysent label``: from raw tweets to labels (and a model), one tweet at a time, with the model in
the loop. In order: :mod:`.journal` (labels saved so that none is lost), :mod:`.select` (which tweet
comes next), :mod:`.rounds` (the background fine-tune), :mod:`.session` (the state the page reads and
changes), :mod:`.page` and :mod:`.app` (the page and its web app)."""
