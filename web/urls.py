from django.urls import path

from web.views import alerts, boards, dashboard, extensions, inbox, results, subjects

app_name = "web"

urlpatterns = [
    path("", alerts.home, name="home"),
    path("dispatch/", boards.dispatch_board, name="dispatch"),
    path("dispatch/bulk/", boards.dispatch_bulk, name="dispatch_bulk"),
    path("disposal/", boards.disposal_board, name="disposal"),
    path("my-work/", boards.my_work, name="my_work"),
    path("evaluation/", boards.evaluation_queue, name="evaluation"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("alerts/", alerts.alert_list, name="alert_list"),
    path("alerts/export.csv", alerts.alert_export_csv, name="alert_export_csv"),
    path("alerts/export.xlsx", alerts.alert_export_xlsx, name="alert_export_xlsx"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/verify/", boards.verify, name="verify"),
    path("alerts/<int:pk>/act/<slug:name>/", alerts.alert_action, name="alert_action"),
    path("alerts/<int:pk>/act/<slug:name>/form/", alerts.alert_action_form, name="alert_action_form"),
    path("alerts/<int:pk>/comments/", alerts.comment_create, name="comment_create"),
    path("evidence/<int:pk>/", alerts.evidence_download, name="evidence"),
    path("alerts/<int:pk>/escalate-handling/", alerts.escalate_handling, name="escalate_handling"),
    path("alerts/<int:pk>/referral-reply/", alerts.referral_reply, name="referral_reply"),
    path("subjects/", subjects.subject_list, name="subject_list"),
    path("subjects/<int:pk>/", subjects.subject_detail, name="subject_detail"),
    path("notices/<int:pk>/", results.notice_print, name="notice"),
    path("notices/<int:pk>/document.docx", results.notice_document, name="notice_document"),
    path("notices/<int:pk>/withdraw/", results.notice_withdraw, name="notice_withdraw"),
    path("notices/<int:pk>/reissue/", results.notice_reissue, name="notice_reissue"),
    path("notices/<int:pk>/review/", results.feedback_review, name="feedback_review"),
    path("attachments/<int:pk>/", results.attachment_download, name="attachment"),
    path("ledger/", results.ledger_view, name="ledger"),
    path("ledger/export.xlsx", results.ledger_export, name="ledger_export"),
    path("alerts/<int:pk>/case-file.docx", results.case_file, name="case_file"),
    path("notifications/", inbox.inbox, name="inbox"),
    path("notifications/<int:pk>/open/", inbox.notification_open, name="notification_open"),
    path("notifications/read/", inbox.notifications_read, name="notifications_read"),
    path("alerts/<int:pk>/extension/", extensions.extension_request, name="extension_request"),
    path("extensions/", extensions.extension_queue, name="extensions"),
    path("extensions/<int:pk>/decide/", extensions.extension_decide, name="extension_decide"),
    path("orders/<int:pk>/feedback/", results.feedback_record, name="feedback"),
]
