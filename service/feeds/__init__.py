"""Feed polling: fetch (bounded, polite HTTP), parse (RSS, Atom, JSON Feed, statement feeds),
schedule (when to poll next) and extract (statements from news text).

Everything here works on values handed in (an ``httpx.AsyncClient``, bytes, a catalog) and returns
values, so the poller that stores feed state and appends statements stays a thin layer on top.
"""
