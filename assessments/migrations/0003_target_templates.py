from django.db import migrations


def forwards(apps, schema_editor):
    from assessments import templates_data

    templates_data.install(apps)


class Migration(migrations.Migration):
    """The seeds' targets as target templates (DOMAIN.md §7), plus 国发〔2021〕35号's."""

    dependencies = [("assessments", "0002_catalogue")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
