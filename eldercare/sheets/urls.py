from django.urls import path

from . import views

app_name = "sheets"
urlpatterns = [
    path("imports/", views.batch_list, name="list"),
    path("imports/new/<slug:kind>/", views.upload, name="upload"),
    path("imports/template/<slug:kind>.xlsx", views.template, name="template"),
    path("imports/<int:pk>/", views.batch_detail, name="detail"),
    path("imports/<int:pk>/progress/", views.progress, name="progress"),
    path("imports/<int:pk>/annotated.xlsx", views.annotated, name="annotated"),
    path("imports/<int:pk>/<slug:action>/", views.batch_action, name="action"),
]
