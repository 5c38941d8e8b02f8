"""The editorial roles as groups with model permissions (issue 6, part 1).

The model permissions let each role into the admin pages it needs; the rules that
depend on the object (never publish your own draft, published reports are immutable)
live in tracker.editorial and are enforced there, whatever the permissions say.
"""

from django.db import migrations

VIEW_TRACKER = [
    "party", "location", "agreement", "source", "clause", "clausevariant", "obligation",
    "deadlinechange", "report", "statusevent",
    "historicalparty", "historicallocation", "historicalagreement", "historicalsource",
    "historicalclause", "historicalclausevariant", "historicalobligation",
    "historicaldeadlinechange", "historicalreport",
]

ROLES = {
    # Drafts reports and deadline changes (and may add the sources they cite).
    "editor": [("tracker", f"view_{m}") for m in VIEW_TRACKER]
    + [("tracker", f"{a}_{m}") for a in ("add", "change", "delete")
       for m in ("report", "deadlinechange")]
    + [("tracker", "add_source"), ("tracker", "change_source")],
    # Publishes or rejects others' drafts (review actions change the draft's state).
    "reviewer": [("tracker", f"view_{m}") for m in VIEW_TRACKER]
    + [("tracker", "change_report"), ("tracker", "change_deadlinechange")],
    # Everything in the tracker, webhooks and API tokens; staff accounts.
    "admin": None,
}
ADMIN_APPS = ("tracker", "deadlines", "authtoken")
ADMIN_EXTRA = [
    ("auth", "view_user"), ("auth", "add_user"), ("auth", "change_user"), ("auth", "view_group"),
    ("axes", "view_accessattempt"), ("axes", "delete_accessattempt"),
    ("axes", "view_accessfailurelog"), ("axes", "view_accesslog"),
]


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        if wanted is None:
            perms = list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
            for app_label, codename in ADMIN_EXTRA:
                perms.extend(
                    Permission.objects.filter(
                        content_type__app_label=app_label, codename=codename
                    )
                )
        else:
            perms = []
            for app_label, codename in wanted:
                perm = Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                ).first()
                if perm is None:
                    raise RuntimeError(f"missing permission {app_label}.{codename}")
                perms.append(perm)
        group.permissions.add(*perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0001_initial"),
        ("deadlines", "0001_webhooks"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("axes", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
