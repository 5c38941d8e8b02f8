from django.contrib import admin

from tracker import models

for model in (models.Party, models.Location, models.Agreement, models.Source, models.Clause,
              models.ClauseVariant, models.Obligation, models.DeadlineChange, models.Report,
              models.StatusEvent):
    admin.site.register(model)
