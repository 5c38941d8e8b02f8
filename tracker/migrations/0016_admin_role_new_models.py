"""The admin role may manage the models this round added (claimants, agreement
relations, clause texts) in the admin, as 0002_roles let it manage the earlier ones;
editors and reviewers may view claimants (the report form names them)."""

from django.db import migrations

NEW_MODELS = ["claimant", "agreementrelation", "clausetext"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    new = Permission.objects.filter(content_type__app_label="tracker",
                                    content_type__model__in=NEW_MODELS)
    for group in Group.objects.filter(name="admin"):
        group.permissions.add(*new)
    view = new.filter(codename="view_claimant")
    for group in Group.objects.filter(name__in=["editor", "reviewer"]):
        group.permissions.add(*view)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0015_summary_spans"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
