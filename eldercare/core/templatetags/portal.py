from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, **kwargs):
    """The current query string with some parameters replaced (for pagination links)."""
    params = context["request"].GET.copy()
    for key, value in kwargs.items():
        params[key] = value
    return params.urlencode()


@register.filter
def input_value(bound_field) -> str:
    """A bound field's value as its widget renders it (a date as yyyy-mm-dd — what
    <input type="date"> needs —, 0 as "0"); "" for no value. The hand-written inputs of
    includes/form.html use it instead of `{{ field.value }}`, which localised dates into a form
    the browser drops and lost zeros."""
    value = bound_field.value()
    if value is None:
        return ""
    formatted = bound_field.field.widget.format_value(value)
    return "" if formatted is None else str(formatted)
