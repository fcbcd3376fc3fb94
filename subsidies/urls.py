from django.urls import path

from . import finance_views

app_name = "subsidies"

urlpatterns = [
    path("subsidies/liabilities/", finance_views.liabilities, name="liabilities"),
    path("subsidies/liabilities/export/", finance_views.liabilities_export, name="liabilities_export"),
    path("subsidies/budgets/", finance_views.budget_save, name="budget_save"),
]
