# jinja2's compiled checkpoint_card.md.j2: written by `make templates`, do not edit
SOURCE_KEY = 'ce2650acb53ec68963d50016b26662026b14d6ec0d548c7e9f6808302b82c742'
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'checkpoint_card.md.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_v = resolve('v')
    l_0_ckpt = resolve('ckpt')
    try:
        t_1 = environment.filters['cell']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'cell' found.")
    try:
        t_2 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_3 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    pass
    yield '# '
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'name'))
    yield ': checkpoint '
    yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'name'))
    yield '\n\nCheckpoint `'
    yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'name'))
    yield '` of '
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'model_url'):
        pass
        yield '[`'
        yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'name'))
        yield '` '
        yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'version'))
        yield ']('
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'model_url'))
        yield ')'
    else:
        pass
        yield '`'
        yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'name'))
        yield '` '
        yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'version'))
    yield ' (`'
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'model'), 'architecture'))
    yield '`, '
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'parameters'))
    yield ' parameters): step '
    yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'step'))
    yield ', '
    yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'tokens_seen'))
    yield ' tokens seen'
    if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'is_final'):
        pass
        yield "; the release's final checkpoint"
    yield '.\n\n## Lineage\n\n'
    if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'is_fork'):
        pass
        yield '- Line: '
        yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'line'))
        yield ', a fork'
        if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'fork_point'):
            pass
            yield ' that starts here, continuing from `'
            yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'fork_point'))
            yield '`'
        yield ' (not the main line).\n'
    elif (t_3(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'lines')) > 1):
        pass
        yield '- Line: the main line.\n'
    if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'parents'):
        pass
        yield '- Parents: '
        l_1_loop = missing
        for l_1_p, l_1_loop in LoopContext(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'parents'), undefined):
            _loop_vars = {}
            pass
            if ((environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived') and (l_1_p == environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'checkpoint'))) and (environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'name') in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'continued_by'))):
                pass
                if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'branch_url'):
                    pass
                    yield '[`'
                    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'label'))
                    yield '`]('
                    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'branch_url'))
                    yield ')'
                else:
                    pass
                    yield '`'
                    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'label'))
                    yield '`'
                yield ' (of the release this one continues, '
                yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'release'))
                yield ': referenced by root digest `'
                yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'root_digest'))
                yield '`, not held)'
            elif environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo'):
                pass
                yield '[`'
                yield str(l_1_p)
                yield '`]('
                yield str(context.call(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'branch_url'), l_1_p, _loop_vars=_loop_vars))
                yield ')'
            else:
                pass
                yield '`'
                yield str(l_1_p)
                yield '`'
            if (not environment.getattr(l_1_loop, 'last')):
                pass
                yield ', '
        l_1_loop = l_1_p = missing
        yield '.\n'
    else:
        pass
        yield '- Parents: none; this checkpoint starts the graph.\n'
    if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'children'):
        pass
        yield '- Children: '
        l_1_loop = missing
        for l_1_c, l_1_loop in LoopContext(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'children'), undefined):
            _loop_vars = {}
            pass
            if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo'):
                pass
                yield '[`'
                yield str(l_1_c)
                yield '`]('
                yield str(context.call(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'branch_url'), l_1_c, _loop_vars=_loop_vars))
                yield ')'
            else:
                pass
                yield '`'
                yield str(l_1_c)
                yield '`'
            if (not environment.getattr(l_1_loop, 'last')):
                pass
                yield ', '
        l_1_loop = l_1_c = missing
        yield '.\n'
    yield '- Data trained on since its parents: chunk'
    yield str(('s' if (t_3(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'data_chunks')) != 1) else ''))
    yield ' '
    yield str(t_2(context.eval_ctx, environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'data_chunks'), ', '))
    yield '.\n- Data seen in all (with its ancestors): chunk'
    yield str(('s' if (t_3(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'data_seen')) != 1) else ''))
    yield ' '
    yield str(t_2(context.eval_ctx, environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'data_seen'), ', '))
    yield ' ('
    yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'tokens_in_seen'))
    yield ' tokens; see '
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'data_card_url'):
        pass
        yield '[the data card]('
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'data_card_url'))
        yield ')'
    else:
        pass
        yield "the release's `DATA_CARD.md`"
    yield ').\n'
    if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'config'):
        pass
        yield '\n## Configuration\n\nThe training configuration that produced this checkpoint (`'
        yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'config_source'))
        yield '`'
        if context.call(environment.getattr(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'config_source'), 'endswith'), 'trainer_state.json'):
            pass
            yield ', `train_config`'
        yield '):\n'
        if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'config_vs_main'):
            pass
            yield "\nIt differs from the main line's in:\n\n| Setting | This checkpoint | Main line |\n|---|---|---|\n"
            for l_1_diff in environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'config_vs_main'):
                _loop_vars = {}
                pass
                yield '| `'
                yield str(environment.getattr(l_1_diff, 'key'))
                yield '` | '
                yield str(t_1(environment.getitem(environment.getattr(l_1_diff, 'values'), 0)))
                yield ' | '
                yield str(t_1(environment.getitem(environment.getattr(l_1_diff, 'values'), 1)))
                yield ' |\n'
            l_1_diff = missing
            yield '\nAll settings:\n'
        yield '\n| Setting | Value |\n|---|---|\n'
        for l_1_row in environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'config'):
            _loop_vars = {}
            pass
            yield '| `'
            yield str(environment.getattr(l_1_row, 'key'))
            yield '` | '
            yield str(t_1(environment.getattr(l_1_row, 'value')))
            yield ' |\n'
        l_1_row = missing
    elif environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'is_fork'):
        pass
        yield '\n## Configuration\n\nThe run does not record the configuration this fork was trained with.\n'
    if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'metrics'):
        pass
        yield '\n## Metrics\n\n| Metric | Evaluation set | Value |\n|---|---|---|\n'
        for l_1_m in environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'metrics'):
            _loop_vars = {}
            pass
            yield '| '
            yield str(t_1(environment.getattr(l_1_m, 'label')))
            yield ' (`'
            yield str(environment.getattr(l_1_m, 'key'))
            yield '`) | '
            if environment.getattr(l_1_m, 'eval_set'):
                pass
                yield str(t_1(environment.getattr(environment.getattr(l_1_m, 'eval_set'), 'name')))
            else:
                pass
                yield 'training batches'
            yield ' | '
            yield str(environment.getattr(l_1_m, 'value'))
            yield ' |\n'
        l_1_m = missing
    yield '\n## Files\n\nOMS v1.0 root digest: `'
    yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'root_digest'))
    yield '`\n\n| File | Bytes | sha256 |\n|---|---|---|\n'
    for l_1_f in environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'files'):
        _loop_vars = {}
        pass
        yield '| `'
        yield str(environment.getattr(l_1_f, 'path'))
        yield '` | '
        yield str(environment.getattr(l_1_f, 'size'))
        yield ' | `'
        yield str(environment.getattr(l_1_f, 'sha256'))
        yield '` |\n'
    l_1_f = missing
    yield '\n## Usage\n\n'
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo'):
        pass
        yield '```python\nfrom transformers import AutoModelForCausalLM\n\nmodel = AutoModelForCausalLM.from_pretrained("'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo'))
        yield '", revision="'
        yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'name'))
        yield '")\n```\n'
    else:
        pass
        yield '```python\nfrom transformers import AutoModelForCausalLM\n\nmodel = AutoModelForCausalLM.from_pretrained("checkpoints/'
        yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'name'))
        yield '")\n```\n'
    yield '\nContinue training from it exactly, in the run directory `RUN` that holds the data chunks:\n\n```bash\nllm360 train --run RUN --resume-from RUN/checkpoints/'
    yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'name'))
    yield '\n```\n\n## Verify\n\n- `manifest.json` sha256: `'
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'manifest_sha256'))
    yield '`\n'
    template = environment.get_template('_provenance.md.j2', 'checkpoint_card.md.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield "\nThe release manifest covers this checkpoint's files; verify them from the release folder:\n\n```bash\n"
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'verify_command'))
    yield '\n```\n'
    if environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'oms_command'):
        pass
        yield '\nIts OpenSSF Model Signing signature is `signatures/'
        yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'name'))
        yield "/model.sig` in the release folder; with the checkpoint's files in `checkpoints/"
        yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'name'))
        yield '/` (the run directory, or a download of its branch):\n\n```bash\n'
        yield str(environment.getattr((undefined(name='ckpt') if l_0_ckpt is missing else l_0_ckpt), 'oms_command'))
        yield '\n```\n'

blocks = {}
debug_info = '2=32&4=36&8=66&9=69&10=77&13=80&14=84&18=126&19=130&21=151&22=155&23=170&27=173&28=179&34=182&35=186&43=195&44=199&46=204&52=207&58=210&59=214&65=229&69=231&70=235&75=243&79=246&85=253&92=256&97=258&98=260&103=267&105=269&107=272&110=276'
