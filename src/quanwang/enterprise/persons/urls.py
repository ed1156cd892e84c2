"""Routes of the enterprise persons part."""

from django.urls import URLPattern, path

from quanwang.enterprise.persons import views

urlpatterns: list[URLPattern] = [
    path("persons/care/", views.care_calendar, name="persons-care"),
    path("persons/care/<int:pk>/action/", views.care_action, name="persons-care-action"),
    path("persons/care/<int:pk>/skip/", views.care_skip, name="persons-care-skip"),
    path("persons/import/", views.person_import, name="persons-import"),
    path("persons/export/", views.person_export, name="persons-export"),
    path("persons/accounts/<int:account_pk>/", views.account_persons, name="persons-account"),
    path(
        "persons/accounts/<int:account_pk>/add/",
        views.account_person_add,
        name="persons-account-add",
    ),
    path(
        "persons/accounts/<int:account_pk>/influence/",
        views.account_influence_add,
        name="persons-influence-add",
    ),
    path("persons/<int:pk>/", views.person_detail, name="persons-detail"),
    path("persons/<int:pk>/reveal/", views.person_reveal, name="persons-reveal"),
    path("persons/<int:pk>/moments/", views.person_moment, name="persons-moment"),
    path("persons/<int:pk>/rate/", views.person_rate, name="persons-rate"),
]
