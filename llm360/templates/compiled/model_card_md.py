# jinja2's compiled model_card.md.j2: written by `make templates`, do not edit
SOURCE_KEY = '777022a5ac43e8bb866fd48eb6e2df6417da3d4cc6fb1dd40a33d55278bef2ab'
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'model_card.md.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_v = resolve('v')
    try:
        t_1 = environment.filters['cell']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'cell' found.")
    try:
        t_2 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_3 = environment.filters['ticks']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'ticks' found.")
    try:
        t_4 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    yield '# '
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'name'))
    yield '\n\n'
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'description'):
        pass
        yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'description'))
        yield '\n\n'
    yield '## What this model is\n\n`'
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'name'))
    yield '` version '
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'version'))
    yield ' is a `'
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'model'), 'architecture'))
    yield '` model with '
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'parameters'))
    yield ' parameters'
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'authors'):
        pass
        yield ', by '
        yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'authors'))
    yield ', released '
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'release'), 'created'))
    yield '.\nIt is a fully open release in the LLM360 style: all '
    yield str(t_2(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'checkpoints')))
    yield ' checkpoints with their optimizer and RNG state, the training data in the exact order it was trained on, the configs, logs and evaluations are listed with their sha256 in `manifest.json`'
    if (environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'signature'), 'method') != 'unsigned'):
        pass
        yield ', which is signed'
    yield '.\nModel Openness Framework: **'
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'openness'))
    yield '** (`llm360 audit manifest.json` grades every component).\n'
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'):
        pass
        yield 'The final checkpoint is `'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'name'))
        yield '`'
        if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final_named'):
            pass
            yield ', as `llm360.yaml` names it'
        elif ((t_2(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'lines')) > 1) and environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final_last_of_main')):
            pass
            yield ', the last of the main line'
        yield '.\n'
    if (environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo') and environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final')):
        pass
        yield 'Each checkpoint is a branch of [`'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo'))
        yield '`](https://huggingface.co/'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo'))
        yield '); `main` holds the final one, `'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'name'))
        yield '`.\n'
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'):
        pass
        yield '\n### What it continues\n\nThis release '
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'relation_text'))
        yield ' checkpoint '
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
        yield ' of `'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'release'))
        yield '` (step '
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'step'))
        yield ', '
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'tokens_seen'))
        yield ' tokens seen there; relation `'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'relation'))
        yield '`): '
        yield str(t_3(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'continued_by')))
        yield ' start'
        yield str(('s' if (t_2(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'continued_by')) == 1) else ''))
        yield ' from it.\nThat checkpoint is referenced, not held: `manifest.json` names it by its root digest `'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'root_digest'))
        yield "` and the parent's manifest by its sha256 `"
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'manifest_sha256'))
        yield '`'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'revision'):
            pass
            yield ' (commit `'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'revision'))
            yield '` of [`'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'repo'))
            yield '`](https://huggingface.co/'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'repo'))
            yield '))'
        yield ', signed by '
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'signer'))
        yield '. `llm360 verify manifest.json --parent-key PARENT.pem` (or `--parent-identity`/`--parent-issuer`) verifies the parent and this link.\n'
        if (environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'repo') and (not environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'hub_relation'))):
            pass
            yield "The Hub's model tree names the parent repository (`base_model`); it has no relation for a "
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'derived'), 'relation'))
            yield ', so `base_model_relation` is left out (the Hub infers one).\n'
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'links'):
        pass
        yield '\n'
        for l_1_link in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'links'):
            _loop_vars = {}
            pass
            yield '- '
            yield str(environment.getattr(l_1_link, 'key'))
            yield ': <'
            yield str(environment.getattr(l_1_link, 'value'))
            yield '>\n'
        l_1_link = missing
    yield '\n## Training\n\n- Backend: `'
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'training'), 'backend'))
    yield '`, precision `'
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'training'), 'precision'))
    yield '`, world size '
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'training'), 'world_size'))
    if (not t_4(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'training'), 'seed'))):
        pass
        yield ', seed '
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'training'), 'seed'))
    yield '.\n- Hardware: '
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'environment'), 'hardware'))
    yield ' (Python '
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'environment'), 'python'))
    yield ', '
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'environment'), 'platform'))
    yield ').\n'
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'):
        pass
        yield '- Tokens: the final checkpoint `'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'name'))
        yield '` has seen '
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'tokens_seen'))
        yield ' tokens in '
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'step'))
        yield ' steps.\n'
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'code'), 'repository'):
        pass
        yield '- Code: <'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'code'), 'repository'))
        yield '>'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'code'), 'commit'):
            pass
            yield ' at commit `'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'code'), 'commit'))
            yield '`'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'code'), 'dirty'):
            pass
            yield ' (with uncommitted changes)'
        yield '.\n'
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'packages'):
        pass
        yield '- Packages: '
        l_1_loop = missing
        for l_1_p, l_1_loop in LoopContext(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'packages'), undefined):
            _loop_vars = {}
            pass
            yield str(environment.getattr(l_1_p, 'key'))
            yield ' '
            yield str(environment.getattr(l_1_p, 'value'))
            if (not environment.getattr(l_1_loop, 'last')):
                pass
                yield ', '
        l_1_loop = l_1_p = missing
        yield '.\n'
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hyperparameters'):
        pass
        yield '\nHyperparameters'
        if (t_2(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'lines')) > 1):
            pass
            yield ' of the main line'
        yield ' (`'
        yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'train_config_path'))
        yield '`):\n\n| Hyperparameter | Value |\n|---|---|\n'
        for l_1_row in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hyperparameters'):
            _loop_vars = {}
            pass
            yield '| `'
            yield str(environment.getattr(l_1_row, 'key'))
            yield '` | '
            yield str(t_1(environment.getattr(l_1_row, 'value')))
            yield ' |\n'
        l_1_row = missing
    if (t_2(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'lines')) > 1):
        pass
        yield '\n### Lines of training\n\nThe run has '
        yield str(t_2(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'lines')))
        yield ' lines: the main line and the forks that continued from one of its checkpoints (or from another fork) with another configuration or data.\n\n| Line | Forked from | Checkpoints | Configuration recorded in |\n|---|---|---|---|\n'
        for l_1_line in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'lines'):
            _loop_vars = {}
            pass
            yield '| '
            yield str(environment.getattr(l_1_line, 'name'))
            yield ' | '
            if environment.getattr(l_1_line, 'fork_point'):
                pass
                yield '`'
                yield str(environment.getattr(l_1_line, 'fork_point'))
                yield '`'
            else:
                pass
                yield '–'
            yield ' | '
            yield str(t_3(environment.getattr(l_1_line, 'checkpoints')))
            yield ' | '
            if environment.getattr(l_1_line, 'config_source'):
                pass
                yield '`'
                yield str(environment.getattr(l_1_line, 'config_source'))
                yield '`'
            else:
                pass
                yield 'not recorded'
            yield ' |\n'
        l_1_line = missing
        if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'config_diffs'):
            pass
            yield "\nSettings that differ between the lines (each line's first checkpoint):\n\n| Setting |"
            for l_1_line in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'lines'):
                _loop_vars = {}
                pass
                yield ' '
                yield str(environment.getattr(l_1_line, 'name'))
                yield ' |'
            l_1_line = missing
            yield '\n|---|'
            for l_1_line in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'lines'):
                _loop_vars = {}
                pass
                yield '---|'
            l_1_line = missing
            yield '\n'
            for l_1_diff in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'config_diffs'):
                _loop_vars = {}
                pass
                yield '| `'
                yield str(environment.getattr(l_1_diff, 'key'))
                yield '` |'
                for l_2_value in environment.getattr(l_1_diff, 'values'):
                    _loop_vars = {}
                    pass
                    yield ' '
                    yield str(t_1(l_2_value))
                    yield ' |'
                l_2_value = missing
                yield '\n'
            l_1_diff = missing
    for l_1_plot in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'training_plots'):
        _loop_vars = {}
        pass
        yield '\n!['
        yield str(environment.getattr(l_1_plot, 'title'))
        yield ']('
        yield str(environment.getattr(l_1_plot, 'path'))
        yield ')\n'
    l_1_plot = missing
    yield '\n## Data\n\n'
    yield str(t_2(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'chunks')))
    yield ' data chunks of rows of '
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'seq_len'))
    yield ' token ids ('
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'total_tokens'))
    yield ' tokens in all), stored in the exact order they were trained on; `'
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'index'))
    yield "` lists each chunk's sha256 and the Merkle root of its rows. Each checkpoint trains on the chunks it lists after its parents:\n\n| Chunk | File | Sequences | Tokens | Trained into |\n|---|---|---|---|---|\n"
    for l_1_c in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'chunks'):
        _loop_vars = {}
        pass
        yield '| '
        yield str(environment.getattr(l_1_c, 'index'))
        yield ' | `'
        yield str(environment.getattr(l_1_c, 'path'))
        yield '` | '
        yield str(environment.getattr(l_1_c, 'sequences'))
        yield ' | '
        yield str(environment.getattr(l_1_c, 'tokens'))
        yield ' | '
        yield str(t_3(environment.getattr(l_1_c, 'trained_in')))
        yield ' |\n'
    l_1_c = missing
    yield '\nTo fetch the exact rows a checkpoint was trained on, take the chunk files above ('
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'data_repo'):
        pass
        yield 'from the dataset repository [`'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'data_repo'))
        yield '`](https://huggingface.co/datasets/'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'data_repo'))
        yield ')'
    else:
        pass
        yield "from the release's run directory"
    yield ') and check them against their sha256 and Merkle roots as [DATA_CARD.md](DATA_CARD.md) shows.\n\n## Checkpoints\n\n| Branch | Line | Step | Tokens seen | Parents |'
    for l_1_col in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'columns'):
        _loop_vars = {}
        pass
        yield ' '
        yield str(l_1_col)
        yield ' |'
    l_1_col = missing
    yield '\n|---|---|---|---|---|'
    for l_1_col in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'columns'):
        _loop_vars = {}
        pass
        yield '---|'
    l_1_col = missing
    yield '\n'
    l_1_loop = missing
    for l_1_c, l_1_loop in LoopContext(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'checkpoints'), undefined):
        _loop_vars = {}
        pass
        yield '| [`'
        yield str(environment.getattr(l_1_c, 'name'))
        yield '`](cards/'
        yield str(environment.getattr(l_1_c, 'name'))
        yield '.md)'
        if environment.getattr(l_1_c, 'is_fork'):
            pass
            yield ' (fork)'
        if environment.getattr(l_1_c, 'is_final'):
            pass
            yield ' (final)'
        yield ' | '
        yield str(environment.getattr(l_1_c, 'line'))
        yield ' | '
        yield str(environment.getattr(l_1_c, 'step'))
        yield ' | '
        yield str(environment.getattr(l_1_c, 'tokens_seen'))
        yield ' | '
        l_2_loop = missing
        t_5 = 1
        for l_2_p, l_2_loop in LoopContext(environment.getattr(l_1_c, 'parents'), undefined):
            _loop_vars = {}
            pass
            yield '`'
            yield str(l_2_p)
            yield '`'
            if (not environment.getattr(l_2_loop, 'last')):
                pass
                yield ', '
            t_5 = 0
        l_2_loop = l_2_p = missing
        if t_5:
            pass
            yield '–'
        yield ' |'
        for l_2_value in environment.getattr(l_1_c, 'cells'):
            _loop_vars = {}
            pass
            yield ' '
            yield str(l_2_value)
            yield ' |'
        l_2_value = missing
        yield '\n'
    l_1_loop = l_1_c = missing
    if (environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final_evals') or environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'eval_plots')):
        pass
        yield '\n## Evaluation\n'
        if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final_evals'):
            pass
            yield '\nFinal checkpoint `'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'name'))
            yield '`, by evaluation set:\n\n| Evaluation set | Metric | Value |\n|---|---|---|\n'
            for l_1_group in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final_evals'):
                _loop_vars = {}
                pass
                for l_2_m in environment.getattr(l_1_group, 'metrics'):
                    _loop_vars = {}
                    pass
                    yield '| '
                    yield str(t_1(environment.getattr(environment.getattr(l_1_group, 'eval_set'), 'name')))
                    if context.call(environment.getattr(environment.getattr(environment.getattr(l_1_group, 'eval_set'), 'key'), 'startswith'), 'benchmark:', _loop_vars=_loop_vars):
                        pass
                        yield ' ([`'
                        yield str(environment.getattr(environment.getattr(l_1_group, 'eval_set'), 'hub_type'))
                        yield '`](https://huggingface.co/datasets/'
                        yield str(environment.getattr(environment.getattr(l_1_group, 'eval_set'), 'hub_type'))
                        yield ')'
                        if environment.getattr(environment.getattr(l_1_group, 'eval_set'), 'split'):
                            pass
                            yield ', split `'
                            yield str(environment.getattr(environment.getattr(l_1_group, 'eval_set'), 'split'))
                            yield '`'
                        yield ')'
                    yield ' | '
                    yield str(t_1(environment.getattr(l_2_m, 'label')))
                    yield ' | '
                    yield str(environment.getattr(l_2_m, 'value'))
                    yield ' |\n'
                l_2_m = missing
            l_1_group = missing
        for l_1_plot in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'eval_plots'):
            _loop_vars = {}
            pass
            yield '\n!['
            yield str(environment.getattr(l_1_plot, 'title'))
            yield ']('
            yield str(environment.getattr(l_1_plot, 'path'))
            yield ')\n'
        l_1_plot = missing
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'benchmarks'):
        pass
        yield "\n## Benchmarks\n\nEvery checkpoint's benchmark results (headline metric; ± its standard error), as the harness returned them: one row per result in [`"
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'benchmarks'), 'rows_path'))
        yield '`]('
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'benchmarks'), 'rows_path'))
        yield '), each with the raw results file it comes from and its sha256.'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'benchmarks'), 'limited'):
            pass
            yield " A column marked **LIMITED** was run on the first documents only (the harness's `--limit`): it is not the benchmark's score, and the model-index leaves it out."
        yield '\n\n| Checkpoint | Tokens seen |'
        for l_1_col in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'benchmarks'), 'columns'):
            _loop_vars = {}
            pass
            yield ' '
            yield str(t_1(environment.getattr(l_1_col, 'title')))
            if environment.getattr(l_1_col, 'limited'):
                pass
                yield ' **LIMITED** (`'
                yield str(environment.getattr(l_1_col, 'limited'))
                yield '`)'
            yield ' |'
        l_1_col = missing
        yield '\n|---|---|'
        for l_1_col in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'benchmarks'), 'columns'):
            _loop_vars = {}
            pass
            yield '---|'
        l_1_col = missing
        yield '\n'
        for l_1_row in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'benchmarks'), 'lines'):
            _loop_vars = {}
            pass
            yield '| `'
            yield str(environment.getattr(l_1_row, 'checkpoint'))
            yield '` | '
            yield str(environment.getattr(l_1_row, 'tokens_seen'))
            yield ' |'
            for l_2_value in environment.getattr(l_1_row, 'cells'):
                _loop_vars = {}
                pass
                yield ' '
                yield str(l_2_value)
                yield ' |'
            l_2_value = missing
            yield '\n'
        l_1_row = missing
        for l_1_plot in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'benchmark_plots'):
            _loop_vars = {}
            pass
            yield '\n!['
            yield str(environment.getattr(l_1_plot, 'title'))
            yield ']('
            yield str(environment.getattr(l_1_plot, 'path'))
            yield ')\n'
        l_1_plot = missing
    if environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'):
        pass
        yield '\n## Usage\n\n'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo'):
            pass
            yield '```python\nfrom transformers import AutoModelForCausalLM\n\nmodel = AutoModelForCausalLM.from_pretrained("'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'hub'), 'repo'))
            yield '", revision="'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'name'))
            yield '")\n```\n\nAny other checkpoint loads the same way with its branch name as `revision`; each branch also holds the checkpoint\'s optimizer and RNG state.\n'
        else:
            pass
            yield 'Every checkpoint folder `checkpoints/ckpt_XXX/` of the run directory this manifest describes loads with transformers:\n\n```python\nfrom transformers import AutoModelForCausalLM\n\nmodel = AutoModelForCausalLM.from_pretrained("checkpoints/'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'name'))
            yield '")\n```\n'
        yield '\nTo continue training exactly where a checkpoint stopped (same data order, optimizer and RNG state), from the run directory `RUN` that holds the data chunks:\n\n```bash\nllm360 train --run RUN --resume-from RUN/checkpoints/'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'final'), 'name'))
        yield '\n```\n'
    yield '\n## Provenance\n\n- `manifest.json` sha256: `'
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'manifest_sha256'))
    yield '`\n'
    template = environment.get_template('_provenance.md.j2', 'model_card.md.j2')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '\nVerify every byte from the release folder:\n\n```bash\n'
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'verify_command'))
    yield '\n```\n\n## Licenses\n\n| Component | License |\n|---|---|\n'
    for l_1_row in environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'licenses'):
        _loop_vars = {}
        pass
        yield '| '
        yield str(environment.getattr(l_1_row, 'key'))
        yield ' | '
        yield str(environment.getattr(l_1_row, 'value'))
        yield ' |\n'
    l_1_row = missing

blocks = {}
debug_info = '2=37&4=39&5=41&10=44&11=59&12=65&13=67&14=70&16=79&17=82&19=88&23=91&24=118&25=134&26=137&29=139&31=142&32=146&38=152&39=162&40=168&41=171&43=177&44=180&46=191&47=195&49=206&51=209&55=215&56=219&59=224&63=227&67=229&68=233&70=256&74=259&76=267&78=273&79=277&84=288&86=292&91=298&95=306&96=310&99=322&103=333&105=341&107=348&108=352&111=395&114=398&116=401&120=403&121=406&122=410&126=431&128=435&131=440&135=443&138=451&140=464&142=470&143=474&146=487&148=491&151=496&155=499&159=502&169=509&176=512&182=515&183=517&188=524&195=526&196=530'
