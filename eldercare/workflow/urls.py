from django.urls import path

from . import documents, views

app_name = "workflow"

urlpatterns = [
    path("filings/", views.filing_list, name="list"),
    path("filings/new/", views.filing_new, name="new"),
    path("filings/stats/", views.filing_stats, name="stats"),
    path("filings/bulk-accept/", views.bulk_accept, name="bulk_accept"),
    path("filings/<int:pk>/", views.filing_detail, name="detail"),
    path("filings/<int:pk>/edit/", views.filing_edit, name="edit"),
    path("filings/<int:pk>/transition/", views.filing_transition, name="transition"),
    path("filings/<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("filings/<int:pk>/attachments/<int:att>/", views.attachment_download, name="attachment"),
    path("filings/<int:pk>/attachments/<int:att>/delete/", views.attachment_delete, name="attachment_delete"),
    path("filings/<int:pk>/documents/<int:doc>/", documents.document_html, name="document"),
    path("filings/<int:pk>/documents/<int:doc>/pdf/", documents.document_pdf, name="document_pdf"),
]
