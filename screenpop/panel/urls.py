"""Routes of the agent panel and the demo desktop (included by screenpop.urls)."""

from django.urls import path

from screenpop.panel import demo, link_views, views

urlpatterns = [
    path("widget/", views.widget, name="panel-widget"),
    path("widget/jsi18n/<str:language>.js", views.javascript_catalog, name="panel-jsi18n"),
    path("api/v1/panel/session", views.PanelSessionView.as_view(), name="panel-session"),
    path("api/v1/pops/<str:conversation_id>/tickets", views.PopTicketsView.as_view(), name="pop-tickets"),
    path("api/v1/pops/<str:conversation_id>/link", link_views.PopLinkView.as_view(), name="pop-link"),
    path(
        "api/v1/pops/<str:conversation_id>/link/ticket",
        link_views.PopLinkedTicketView.as_view(),
        name="pop-linked-ticket",
    ),
    path("api/v1/pops/<str:conversation_id>/search", link_views.PopSearchView.as_view(), name="pop-search"),
    path("api/v1/pops/<str:conversation_id>/note", link_views.PopNoteView.as_view(), name="pop-note"),
    path("api/v1/pops/<str:conversation_id>/dial", link_views.PopDialView.as_view(), name="pop-dial"),
    path("demo/", demo.demo_page, name="panel-demo"),
    path("demo/api/calls", demo.DemoCallsView.as_view(), name="panel-demo-calls"),
    path("demo/api/calls/<str:conversation_id>/transfer", demo.DemoTransferView.as_view(), name="panel-demo-transfer"),
    path("demo/api/calls/<str:conversation_id>/end", demo.DemoEndView.as_view(), name="panel-demo-end"),
    path("demo/api/calls/<str:conversation_id>/ticket", demo.DemoTicketView.as_view(), name="panel-demo-ticket"),
    path("demo/api/agent", demo.DemoAgentView.as_view(), name="panel-demo-agent"),
    path("demo/api/outage", demo.DemoOutageView.as_view(), name="panel-demo-outage"),
]
