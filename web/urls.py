from django.urls import path

from web.views import alerts, assessment, assets, boards, dashboard, extensions, subjects

app_name = "web"

urlpatterns = [
    path("", alerts.home, name="home"),
    path("favicon.ico", assets.favicon, name="favicon"),
    path("dispatch/", boards.dispatch_board, name="dispatch"),
    path("dispatch/bulk/", boards.dispatch_bulk, name="dispatch_bulk"),
    path("dispatch/verifiers/", boards.dispatch_verifiers, name="dispatch_verifiers"),
    path("disposal/", boards.disposal_board, name="disposal"),
    path("my-work/", boards.my_work, name="my_work"),
    path("evaluation/", boards.evaluation_queue, name="evaluation"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("alerts/", alerts.alert_list, name="alert_list"),
    path("alerts/export.csv", alerts.alert_export_csv, name="alert_export_csv"),
    path("alerts/export.xlsx", alerts.alert_export_xlsx, name="alert_export_xlsx"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/timeline/", alerts.alert_timeline, name="alert_timeline"),
    path("alerts/<int:pk>/verify/", boards.verify, name="verify"),
    path("alerts/<int:pk>/act/<slug:name>/", alerts.alert_action, name="alert_action"),
    path("alerts/<int:pk>/act/<slug:name>/form/", alerts.alert_action_form, name="alert_action_form"),
    path("alerts/<int:pk>/comments/", alerts.comment_create, name="comment_create"),
    path("evidence/<int:pk>/", alerts.evidence_download, name="evidence"),
    path("alerts/<int:pk>/escalate-handling/", alerts.escalate_handling, name="escalate_handling"),
    path("alerts/<int:pk>/referral-reply/", alerts.referral_reply, name="referral_reply"),
    path("assessment/", assessment.assessment, name="assessment"),
    path("assessment/export.xlsx", assessment.assessment_export, name="assessment_export"),
    path("assessment/drill/", assessment.assessment_drill, name="assessment_drill"),
    path("assessment/rechecks/", assessment.recheck_create, name="recheck_create"),
    path("rechecks/", assessment.my_rechecks, name="rechecks"),
    path("rechecks/<int:pk>/outcome/", assessment.recheck_outcome, name="recheck_outcome"),
    path("reports/", assessment.reports, name="reports"),
    path("reports/<int:pk>/", assessment.report_download, name="report_download"),
    path("subjects/", subjects.subject_list, name="subject_list"),
    path("subjects/<int:pk>/", subjects.subject_detail, name="subject_detail"),
    path("notices/<int:pk>/", alerts.notice_print, name="notice"),
    path("alerts/<int:pk>/extension/", extensions.extension_request, name="extension_request"),
    path("extensions/", extensions.extension_queue, name="extensions"),
    path("extensions/<int:pk>/decide/", extensions.extension_decide, name="extension_decide"),
    path("orders/<int:pk>/feedback/", extensions.feedback_record, name="feedback"),
]
