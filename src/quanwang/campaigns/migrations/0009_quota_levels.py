# Quotas may be set per county (TaskSplit.COUNTY) as well as per grid and account manager.
# Chained after 0008 (another change of issue 15) so the graph has one leaf.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0008_design_acknowledgement'),
    ]

    operations = [
        migrations.AlterField(
            model_name='campaign',
            name='task_split',
            field=models.CharField(choices=[('grid', 'Grids and stores'), ('county', 'Grids and stores, with quotas per county'), ('account_manager', 'Enterprise members to their account managers, the rest to grids and stores')], default='grid', help_text="Whose task lists the task steps fill and who holds the quotas: grids and stores, counties, or first the account managers of the customers' enterprises.", max_length=20, verbose_name='task lists'),
        ),
    ]
