from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from assessments.report_api import AttainmentViewSet
from assessments.target_api import IndicatorViewSet, TargetTemplateViewSet, TargetViewSet
from assessments.township_api import TownshipReportViewSet
from contracts.api.views import ContractViewSet
from eldercare.accounts.api.views import TokenObtainView, UserViewSet
from eldercare.regions.api.views import RegionViewSet
from eldercare.sheets.api.views import ImportBatchViewSet
from eldercare.workflow.api.views import FilingViewSet
from institutions.api.views import InstitutionViewSet
from subsidies.api.views import ApplicationViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("regions", RegionViewSet, basename="region")
router.register("users", UserViewSet, basename="user")
router.register("institutions", InstitutionViewSet, basename="institution")
router.register("imports", ImportBatchViewSet, basename="import")
router.register("filings", FilingViewSet, basename="filing")
router.register("contracts", ContractViewSet, basename="contract")
router.register("subsidies/applications", ApplicationViewSet, basename="subsidy-application")
router.register("township-reports", TownshipReportViewSet, basename="township-report")
router.register("reports/attainment", AttainmentViewSet, basename="report-attainment")
router.register("indicators", IndicatorViewSet, basename="indicator")
router.register("targets", TargetViewSet, basename="target")
router.register("target-templates", TargetTemplateViewSet, basename="target-template")

# An unmatched /api/ path answers in JSON like a missing object (the OpenAPI description says so).
handler404 = "eldercare.core.views.page_not_found"

admin.site.site_header = "医养结合服务平台 · 系统管理"
admin.site.site_title = "医养结合服务平台"

urlpatterns = [
    path("", include("eldercare.core.urls")),
    path("", include("eldercare.accounts.urls")),
    path("", include("eldercare.regions.urls")),
    path("", include("eldercare.audit.urls")),
    path("", include("institutions.urls")),
    path("", include("eldercare.sheets.urls")),
    path("", include("eldercare.workflow.urls")),
    path("", include("contracts.urls")),
    path("", include("subsidies.urls")),
    path("", include("assessments.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("system/", admin.site.urls),
]
