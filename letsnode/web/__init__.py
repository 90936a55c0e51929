"""The members' web wallet and the node's JSON API (Starlette, served by Hypercorn on trio).

Routes call the ``Node`` (letsnode/node/facade.py), never the store. The wallet itself is plain
HTML, CSS and ES modules in ``static/``; every string it shows comes from ``locales/``.
"""
