"""The kit: everything a plugin (built-in or a site's) may import; the rest of the project is not for plugins.

hookspecs (the hooks and ``hookimpl``), model (request, facts, context, steps, plan, decisions, events),
errors (what a step raises), shell (the Shell protocol and its results and errors), commands (send planned
commands), remote (read cmdlet output), versions (the Lync version table), cms_store (reading the Central
Management store and planning its validation).
"""
