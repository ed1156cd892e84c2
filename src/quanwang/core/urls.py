from django.urls import path

from quanwang.core import views

app_name = "core"

urlpatterns = [
    path("org-units/", views.orgunit_list, name="orgunit-list"),
    path("org-units/new/", views.orgunit_create, name="orgunit-create"),
    path("org-units/import/", views.org_import, name="orgunit-import"),
    path("org-units/<int:pk>/", views.orgunit_detail, name="orgunit-detail"),
    path("org-units/<int:pk>/edit/", views.orgunit_edit, name="orgunit-edit"),
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/export/", views.staff_export, name="staff-export"),
    path("staff/<int:pk>/", views.staff_detail, name="staff-detail"),
    path("staff/<int:pk>/reveal/", views.staff_reveal, name="staff-reveal"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job-progress"),
    path("jobs/<int:pk>/rejected-rows/", views.job_quarantine, name="job-quarantine"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job-cancel"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job-retry"),
    path("audit/", views.audit_list, name="audit-list"),
    path("api-tokens/", views.token_list, name="token-list"),
    path("api-tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
