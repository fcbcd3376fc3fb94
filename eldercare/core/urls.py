from django.urls import path

from . import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("region/switch/", views.switch_region, name="switch_region"),
    path("notifications/", views.notifications, name="notifications"),
]
