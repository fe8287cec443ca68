from django.urls import path

from screenpop.install import views

app_name = "install"

urlpatterns = [
    path("", views.start, name="start"),
    path("login/", views.login, name="login"),
    path("callback/", views.callback, name="callback"),
    path("check/", views.check, name="check"),
    path("freshdesk/", views.freshdesk, name="freshdesk"),
    path("queues/", views.queues, name="queues"),
    path("provision/", views.provision, name="provision"),
    path("summary/", views.summary, name="summary"),
    path("test-call/", views.test_call, name="test-call"),
    path("uninstall/", views.uninstall, name="uninstall"),
    path("logout/", views.logout, name="logout"),
    path("workflow.yaml", views.workflow_file, name="workflow-file"),
]
