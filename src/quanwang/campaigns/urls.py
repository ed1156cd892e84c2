from django.urls import path

from quanwang.campaigns import review_views, views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="list"),
    path("campaigns/new/", views.campaign_new, name="new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="detail"),
    path("campaigns/<int:pk>/estimate/", views.campaign_estimate, name="estimate"),
    path("campaigns/<int:pk>/dispatch/", views.campaign_dispatch, name="dispatch"),
    path("campaigns/<int:pk>/responses/", views.campaign_responses, name="responses"),
    path("campaigns/<int:pk>/report.<str:kind>", views.campaign_report, name="report"),
    path("campaigns/<int:pk>/<str:move>/", views.campaign_move, name="move"),
    path("campaigns/tasks/", views.task_list, name="tasks"),
    path("campaigns/tasks/record/", views.task_record, name="task-record"),
    path("campaigns/tasks/tasks.xlsx", views.task_xlsx, name="tasks-xlsx"),
    path("campaigns/segments/", views.segment_list, name="segments"),
    path("campaigns/segments/preview/", views.segment_preview, name="segment-preview"),
    path("campaigns/lists/", views.list_upload, name="list-upload"),
    path("campaigns/replies/", review_views.review_list, name="reviews"),
    path("campaigns/replies/<int:pk>/", review_views.review_decide, name="review-decide"),
]
