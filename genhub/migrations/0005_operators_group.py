"""The "Operators" group: people who may see, download and cancel every user's
jobs (genhub.view_all_jobs). Staff status alone no longer grants that."""

from django.db import migrations

OPERATORS = "Operators"


def create_operators(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Permissions are normally created after all migrations (post_migrate), so on
    # a fresh database this one does not exist yet: make it here, as Django would.
    job_type, _ = ContentType.objects.get_or_create(app_label="genhub", model="job")
    permission, _ = Permission.objects.get_or_create(
        content_type=job_type,
        codename="view_all_jobs",
        defaults={"name": "Can see, download and cancel every user's jobs and files"},
    )
    group, _ = Group.objects.get_or_create(name=OPERATORS)
    group.permissions.add(permission)


def remove_operators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=OPERATORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("genhub", "0004_job_view_all_jobs_permission"),
    ]

    operations = [migrations.RunPython(create_operators, remove_operators)]
