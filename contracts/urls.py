from django.urls import path

from . import views

app_name = "contracts"

urlpatterns = [
    path("contracts/", views.contract_list, name="list"),
    path("contracts/new/", views.contract_new, name="new"),
    path("contracts/export/", views.contract_export, name="export"),
    path("contracts/coverage/", views.coverage, name="coverage"),
    path("contracts/performance/", views.performance, name="performance"),
    path("contracts/<int:pk>/", views.contract_detail, name="detail"),
    path("contracts/<int:pk>/edit/", views.contract_edit, name="edit"),
    path("contracts/<int:pk>/terminate/", views.contract_terminate, name="terminate"),
    path("contracts/<int:pk>/visits/", views.visit_add, name="visit_add"),
    path("contracts/<int:pk>/file/", views.contract_file, name="file"),
]
