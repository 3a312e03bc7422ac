"""Registration entry point, as in every OpenMMLab package."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = False) -> None:
    """Import every mmkd_ext module so that its components are registered.

    Components land in the registries of the library they extend (MMRazor, MMDet,
    MMPretrain) and in :mod:`mmkd_ext.registry`. Configs reach the same result with
    ``custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)``.

    Args:
        init_default_scope (bool): also make ``mmrazor`` the default scope when no
            scope is set yet (configs normally set ``default_scope`` themselves).
    """
    import mmkd_ext.datasets  # noqa: F401
    import mmkd_ext.engine  # noqa: F401
    import mmkd_ext.evaluation  # noqa: F401
    import mmkd_ext.models  # noqa: F401
    if not init_default_scope:
        return
    never_created = DefaultScope.get_current_instance() is None \
        or not DefaultScope.check_instance_created('mmrazor')
    if never_created:
        DefaultScope.get_instance('mmrazor', scope_name='mmrazor')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmrazor':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mmrazor", '
                      '`register_all_modules` will force the current'
                      'default scope to be "mmrazor". If this is not '
                      'expected, please set `init_default_scope=False`.')
        new_instance_name = f'mmrazor-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmrazor')
