from django.urls import path

from . import views

app_name = "regions"
urlpatterns = [
    path("regions/", views.region_list, name="list"),
    path("regions/<str:code>/", views.region_detail, name="detail"),
]
