from django.urls import path

from . import documents, finance_views, roster_views, views

app_name = "subsidies"

urlpatterns = [
    path("subsidies/liabilities/", finance_views.liabilities, name="liabilities"),
    path("subsidies/liabilities/export/", finance_views.liabilities_export, name="liabilities_export"),
    path("subsidies/budgets/", finance_views.budget_save, name="budget_save"),
    path("subsidies/applications/", views.application_list, name="application_list"),
    path("subsidies/applications/new/", views.application_new, name="application_new"),
    path("subsidies/applications/<int:pk>/", views.application_detail, name="application_detail"),
    path(
        "subsidies/applications/<int:pk>/transition/",
        views.application_transition,
        name="application_transition",
    ),
    path("subsidies/applications/<int:pk>/rejudge/", views.application_rejudge, name="application_rejudge"),
    path("subsidies/applications/<int:pk>/correct/", views.application_correct, name="application_correct"),
    path(
        "subsidies/applications/<int:pk>/reconcile/",
        views.application_reconcile,
        name="application_reconcile",
    ),
    path(
        "subsidies/applications/<int:pk>/installments/<int:installment>/pay/",
        views.installment_pay,
        name="installment_pay",
    ),
    path(
        "subsidies/applications/<int:pk>/payments/<int:payment>/reverse/",
        views.payment_reverse,
        name="payment_reverse",
    ),
    path("subsidies/applications/<int:pk>/form/", documents.form_html, name="application_form"),
    path("subsidies/applications/<int:pk>/form.pdf", documents.form_pdf, name="application_form_pdf"),
    path("subsidies/occupancy/", roster_views.occupancy_grid, name="occupancy"),
    path(
        "subsidies/occupancy/<int:pk>/<int:year>/<int:month>/",
        roster_views.occupancy_entry,
        name="occupancy_entry",
    ),
    path("subsidies/residents/", roster_views.resident_list, name="residents"),
    path("subsidies/residents/<int:pk>/unmask/", roster_views.resident_unmask, name="resident_unmask"),
    path("subsidies/duplicates/", roster_views.duplicates, name="duplicates"),
]
