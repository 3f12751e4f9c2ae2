"""Deadline endpoints, included under /api/v1/ by api/urls.py."""

from django.urls import path

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
    path("rectification-orders/", api.RectificationOrderListView.as_view(), name="rectification-order-list"),
    path("rectification-orders/<int:pk>/feedback/", api.RectificationFeedbackView.as_view(),
         name="rectification-order-feedback"),
]
