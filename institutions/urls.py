from django.urls import path

from . import views

app_name = "institutions"
urlpatterns = [
    path("institutions/", views.institution_list, name="list"),
    path("institutions/<int:pk>/", views.institution_detail, name="detail"),
]
