"""The members' web wallet and the node's JSON API (Starlette).

Routes call the node through ``NodePort`` (``letsnode/web/port.py``), never the node
module, the store or SQL. The wallet itself is plain HTML, CSS and ES modules in
``static/``; every string it shows comes from ``locales/``.
"""
