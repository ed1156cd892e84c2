"""Routes of performance.grades (under /performance/, namespace performance)."""

from django.urls import URLPattern, URLResolver, path

from quanwang.performance.grades import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("grades/", views.distribution_page, name="grades-distribution"),
    path("grades/mine/", views.mine, name="grades-mine"),
    path("grades/staff/<str:employee_no>/", views.card_page, name="grades-card"),
    path("grades/staff/<str:employee_no>/place/", views.place_view, name="grades-place"),
    path("grades/moves/", views.moves_page, name="grades-moves"),
    path("grades/moves/propose/", views.propose_view, name="grades-propose"),
    path("grades/moves/<int:pk>/decide/", views.decide_view, name="grades-decide"),
    path("grades/rules/", views.rules_page, name="grades-rules"),
    path("grades/rules/save/", views.rules_save, name="grades-rules-save"),
]
