# A submit of a campaign expected to lose money records the expected net the submitter
# acknowledged (defect 8 of issue 15).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0007_segment_copied_from'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaignevent',
            name='acknowledged_net',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True, verbose_name='expected loss acknowledged'),
        ),
    ]
