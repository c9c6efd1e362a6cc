"""The pages people use: server-rendered Jinja2 templates in English and German, on top of
the same core services and read models as the JSON API (`api.web.render` for the layout and
security headers, `api.web.i18n` for languages and formats, `api.web.guard` for who may see
what, `api.web.forms` for form validation with errors next to the field)."""
