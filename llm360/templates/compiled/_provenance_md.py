# jinja2's compiled _provenance.md.j2: written by `make templates`, do not edit
SOURCE_KEY = 'f005010946748b2c80164788f67dde0a6c899e53d541497ea17b264588554dff'
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = '_provenance.md.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_v = resolve('v')
    try:
        t_1 = environment.tests['match']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No test named 'match' found.")
    pass
    if (environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'method') == 'key'):
        pass
        yield '- **Signed with a key** (ECDSA, Sigstore bundle `manifest.sigstore.json` with public-key verification material'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'key_hint'):
            pass
            yield '; public key '
            yield str(('sha256 fingerprint' if t_1(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'key_hint'), '^[0-9a-f]{64}$') else 'hint'))
            yield ' `'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'key_hint'))
            yield '`'
        yield "). In the commands below, `PUBLIC.pem` stands for the publisher's public key (PEM), which the release does not carry: get it from the publisher.\n"
    elif (environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'method') == 'sigstore'):
        pass
        yield '- **Signed keyless with Sigstore** (bundle `manifest.sigstore.json`)'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'identity'):
            pass
            yield ' by `'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'identity'))
            yield '`'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'issuer'):
            pass
            yield ', OIDC issuer `'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'issuer'))
            yield '`'
        yield ", as the bundle's certificate states.\n"
    else:
        pass
        yield '- **Unsigned**: this release has no `manifest.sigstore.json`. The command below checks every byte against the manifest but cannot say who published it.\n'

blocks = {}
debug_info = '2=18&3=21&4=29&5=32'
