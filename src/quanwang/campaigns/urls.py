from django.urls import path

from quanwang.campaigns import (
    evaluation_views,
    experiment_views,
    offer_views,
    promotion_views,
    review_views,
    segment_views,
    task_views,
    views,
)
from quanwang.campaigns.sandbox import views as sandbox_views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="list"),
    path("campaigns/new/", views.campaign_new, name="new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="detail"),
    path("campaigns/<int:pk>/estimate/", views.campaign_estimate, name="estimate"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="edit"),
    path(
        "campaigns/<int:pk>/edit/estimate/",
        views.campaign_estimate_preview,
        name="edit-estimate-preview",
    ),
    path("campaigns/new/estimate/", views.campaign_estimate_preview, name="estimate-preview"),
    path("campaigns/<int:pk>/dispatch/", views.campaign_dispatch, name="dispatch"),
    path("campaigns/<int:pk>/responses/", views.campaign_responses, name="responses"),
    path("campaigns/<int:pk>/report.<str:kind>", views.campaign_report, name="report"),
    # Before the move route: evaluating runs as a background job, whichever form asks for it.
    path("campaigns/<int:pk>/evaluate/", evaluation_views.evaluation_start, name="evaluate"),
    path("campaigns/<int:pk>/evaluation/", evaluation_views.evaluation_card, name="evaluation"),
    path(
        "campaigns/<int:pk>/responses/rejected/<str:name>",
        evaluation_views.responses_rejected,
        name="responses-rejected",
    ),
    path(
        "campaigns/<int:pk>/dispatch/<str:step>/call-list.xlsx",
        promotion_views.call_list_xlsx,
        name="call-list",
    ),
    path("campaigns/<int:pk>/stores/", views.campaign_store_quotas, name="store-quotas"),
    path("campaigns/<int:pk>/<str:move>/", views.campaign_move, name="move"),
    path("campaigns/promotion/", promotion_views.dispatch_overview, name="promotion"),
    path("campaigns/sandbox/", sandbox_views.sandbox_inbox, name="sandbox-inbox"),
    path("campaigns/sandbox/reply/", sandbox_views.sandbox_reply, name="sandbox-reply"),
    path("campaigns/tasks/", task_views.task_list, name="tasks"),
    path("campaigns/tasks/record/", task_views.task_record, name="task-record"),
    path("campaigns/tasks/tasks.xlsx", task_views.task_xlsx, name="tasks-xlsx"),
    path("campaigns/segments/", segment_views.segment_list, name="segments"),
    path("campaigns/segments/preview/", segment_views.segment_preview, name="segment-preview"),
    path("campaigns/segments/<int:pk>/", segment_views.segment_detail, name="segment"),
    path("campaigns/segments/<int:pk>/copy/", segment_views.segment_copy, name="segment-copy"),
    path(
        "campaigns/segments/<int:pk>/delete/", segment_views.segment_delete, name="segment-delete"
    ),
    path("campaigns/lists/", views.list_upload, name="list-upload"),
    path("campaigns/offers/", offer_views.offer_list, name="offers"),
    path("campaigns/offers/new/", offer_views.offer_new, name="offer-new"),
    path("campaigns/offers/<int:pk>/", offer_views.offer_edit, name="offer-edit"),
    path("campaigns/offers/<int:pk>/retire/", offer_views.offer_retire, name="offer-retire"),
    path("campaigns/offers/<int:pk>/delete/", offer_views.offer_delete, name="offer-delete"),
    path(
        "campaigns/experiments/evaluate/",
        experiment_views.experiment_evaluate,
        name="experiment-evaluate",
    ),
    path(
        "campaigns/experiments/evaluate/arms/",
        experiment_views.experiment_arms,
        name="experiment-arms",
    ),
    path(
        "campaigns/experiments/evaluate/lifts.<str:kind>",
        experiment_views.experiment_download,
        name="experiment-download",
    ),
    path("campaigns/replies/", review_views.review_list, name="reviews"),
    path("campaigns/replies/<int:pk>/", review_views.review_decide, name="review-decide"),
]
