"""A paging loop stops with a clear error when the API hands back a page that does not move it on
(an API that ignores a filter or a cursor would otherwise be asked for the same page forever)."""
from __future__ import annotations

from integration.errors import PermanentError


class PagingStalled(PermanentError):
    """The next page's cursor did not advance."""


def advance(api: str, what: str, previous, current):
    """`current`, the cursor of the next page; raise PagingStalled when it is `previous` again."""
    if current is not None and current == previous:
        raise PagingStalled(api, f"{what}: the API answered the same page again (its cursor did "
                                 "not advance; does it ignore the filter?); stopped")
    return current
