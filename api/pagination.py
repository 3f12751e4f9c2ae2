"""Every API list is paginated as `{count, next, previous, results}`.

The alert list also pages by cursor (`?cursor=`, then the `next` / `previous` links), with the
screens' keyset paging (core.paging): as fast deep in a long list as at its top, and a row
inserted meanwhile never shifts another onto two pages. `page` / `page_size` keep working as
before; in cursor mode `count` stops at 10,000 and `count_capped` says so.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.paging import InvalidCursor, KeysetPage, keyset_page


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def keyset_order(qs: QuerySet[Any]) -> list[str]:
    """The queryset's order as plain field names, cut after (or ended with) the primary key."""
    order: list[str] = []
    for item in qs.query.order_by or qs.model._meta.ordering:
        if not isinstance(item, str):
            raise ValueError(f"cannot page on {item!r}")
        order.append(item)
        if item.lstrip("-") in ("id", "pk"):
            return order
    return [*order, "-id"]


class AlertPagination(Pagination):
    cursor_query_param = "cursor"
    before_query_param = "before"

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> Any:
        self.keyset: KeysetPage | None = None
        if self.cursor_query_param not in request.query_params and self.before_query_param not in request.query_params:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        try:
            self.keyset = keyset_page(
                queryset, order=keyset_order(queryset), size=self.get_page_size(request),
                after=request.query_params.get(self.cursor_query_param, ""),
                before=request.query_params.get(self.before_query_param, ""), strict=True,
            )
        except InvalidCursor as exc:
            raise ValidationError({"cursor": [_("This cursor is not valid; start again from the first page.")]}) \
                from exc
        return list(self.keyset)

    def _cursor_link(self, param: str, value: str) -> str | None:
        if not value:
            return None
        url = self.request.build_absolute_uri()
        for p in (self.cursor_query_param, self.before_query_param, self.page_query_param):
            url = remove_query_param(url, p)
        return replace_query_param(url, param, value)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [*super().get_schema_operation_parameters(view), *[
            {"name": name, "required": False, "in": "query", "schema": {"type": "string"}, "description": text}
            for name, text in (
                (self.cursor_query_param, "Page by cursor: empty for the first page, then follow `next`."),
                (self.before_query_param, "The page before this cursor (the `previous` link)."),
            )
        ]]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        out = super().get_paginated_response_schema(schema)
        out["properties"]["count_capped"] = {
            "type": "boolean", "description": "Cursor mode: more rows than `count` (which stops at 10,000).",
        }
        return out

    def get_paginated_response(self, data: Any) -> Response:
        if self.keyset is None:
            return super().get_paginated_response(data)
        page = self.keyset
        return Response({
            "count": page.count,
            "count_capped": page.count_capped,
            "next": self._cursor_link(self.cursor_query_param, page.next_cursor),
            "previous": self._cursor_link(self.before_query_param, page.previous_cursor)
            if page.has_previous and page.previous_cursor else None,
            "results": data,
        })
