"""``dehaze-app``: a local web page (Gradio, the optional ``[app]`` extra) that dehazes uploaded photos.

:mod:`dehaze.app.service` dehazes uploads exactly as ``dehaze-infer`` does (no Gradio there);
:mod:`dehaze.app.page` lays out the page and its ``/dehaze`` API; :mod:`dehaze.app.gate` answers an upload "busy" at
once when the queue is full; :mod:`dehaze.app.workdir` keeps uploads and results in the app's own folder and deletes
them; :mod:`dehaze.cli.app` starts it.
"""
