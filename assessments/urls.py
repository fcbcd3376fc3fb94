from django.urls import path

from . import report_views, target_views, township_views

app_name = "assessments"

# 乡镇年报 (township reports): assessments/township_views.py.
township_urlpatterns = [
    path("reports/township/", township_views.report_list, name="township_reports"),
    path("reports/township/accept/", township_views.bulk_accept, name="township_bulk_accept"),
    path("reports/township/calendar/", township_views.calendar, name="township_calendar"),
    path("reports/township/<str:code>/<int:year>/", township_views.report_detail, name="township_report"),
    path(
        "reports/township/<str:code>/<int:year>/submit/",
        township_views.report_submit,
        name="township_report_submit",
    ),
    path(
        "reports/township/<str:code>/<int:year>/accept/",
        township_views.report_accept,
        name="township_report_accept",
    ),
    path(
        "reports/township/<str:code>/<int:year>/reopen/",
        township_views.report_reopen,
        name="township_report_reopen",
    ),
]

# 指标与目标 (the catalogue, target templates, a region's targets): assessments/target_views.py.
target_urlpatterns = [
    path("reports/targets/", target_views.targets, name="targets"),
    path("reports/targets/set/", target_views.target_set, name="target_set"),
    path("reports/targets/<int:pk>/delete/", target_views.target_delete, name="target_delete"),
    path("reports/targets/indicators/", target_views.indicator_list, name="indicators"),
    path("reports/targets/indicators/weights/", target_views.indicator_weights, name="indicator_weights"),
    path("reports/targets/templates/", target_views.template_list, name="templates"),
    path("reports/targets/templates/<int:pk>/apply/", target_views.template_apply, name="template_apply"),
]

# 目标考核 (the attainment dashboard, recompute, drill-down, exports): assessments/report_views.py.
report_urlpatterns = [
    path("reports/", report_views.dashboard, name="reports"),
    path("reports/recompute/", report_views.recompute, name="report_recompute"),
    path("reports/runs/<int:pk>/progress/", report_views.progress, name="report_progress"),
    path("reports/export/xlsx/", report_views.export_xlsx, name="report_xlsx"),
    path("reports/export/print/", report_views.export_print, name="report_print"),
    path("reports/export/pdf/", report_views.export_pdf, name="report_pdf"),
    path("reports/<int:year>/<str:code>/<str:indicator>/", report_views.drill_down, name="report_drill"),
]

urlpatterns = [*township_urlpatterns, *target_urlpatterns, *report_urlpatterns]
