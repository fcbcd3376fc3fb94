from django.db import migrations


def forwards(apps, schema_editor):
    from assessments import catalogue

    catalogue.install(apps)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
