"""Date and number formats per interface language, where Django's own do not suit.

Pages name a format (`|date:"SHORT_DATE_FORMAT"`), never spell one out, so each
language shows dates as its readers write them. Django ships az and ru formats and
none for hy; the English ones keep the day-month-year order analysts use.
"""
