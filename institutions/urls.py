from django.urls import path

from . import views

app_name = "institutions"
urlpatterns = [
    path("institutions/", views.institution_list, name="list"),
    path("institutions/new/", views.institution_create, name="create"),
    path("institutions/<int:pk>/", views.institution_detail, name="detail"),
    path("institutions/<int:pk>/edit/", views.institution_edit, name="edit"),
    path("institutions/<int:pk>/status/", views.institution_status, name="status"),
]
