"""Deadline endpoints, included under /api/v1/ by api/urls.py."""

from django.urls import path

from api.views import results
from api.views import workflow as api

urlpatterns = [
    path("alerts/<int:pk>/extensions/", api.AlertExtensionsView.as_view(), name="alert-extensions"),
    path("extensions/<int:pk>/approve/", api.ExtensionDecisionView.as_view(decision="approve"),
         name="extension-approve"),
    path("extensions/<int:pk>/refuse/", api.ExtensionDecisionView.as_view(decision="refuse"),
         name="extension-refuse"),
    path("notifications/", api.NotificationListView.as_view(), name="notification-list"),
    path("notifications/unread-count/", api.UnreadCountView.as_view(), name="notification-unread-count"),
    path("notifications/read-all/", api.MarkReadView.as_view(), name="notification-mark-read"),
    path("notifications/<int:pk>/read/", api.NotificationReadView.as_view(), name="notification-read"),
    path("rectification-orders/", results.RectificationOrderListView.as_view(), name="rectification-order-list"),
    path("rectification-orders/<int:pk>/feedback/", results.RectificationFeedbackView.as_view(),
         name="rectification-order-feedback"),
    path("rectification-orders/<int:pk>/accept/", results.RectificationAcceptView.as_view(),
         name="rectification-order-accept"),
    path("rectification-orders/<int:pk>/reject/", results.RectificationRejectView.as_view(),
         name="rectification-order-reject"),
    path("notices/", results.NoticeListView.as_view(), name="notice-list"),
    path("notices/<int:pk>/", results.NoticeDetailView.as_view(), name="notice-detail"),
    path("notices/<int:pk>/document/", results.NoticeDocumentView.as_view(), name="notice-document"),
    path("notices/<int:pk>/withdraw/", results.NoticeWithdrawView.as_view(), name="notice-withdraw"),
    path("notices/<int:pk>/reissue/", results.NoticeReissueView.as_view(), name="notice-reissue"),
    path("alerts/<int:pk>/case-file/", results.AlertCaseFileView.as_view(), name="alert-case-file"),
]
