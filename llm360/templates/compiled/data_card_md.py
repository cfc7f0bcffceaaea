# jinja2's compiled data_card.md.j2: written by `make templates`, do not edit
SOURCE_KEY = '4fbf6708a330990e700ecafb83d4b62564e1625576b58b7d2f5b9920d4f4706b'
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'data_card.md.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_v = resolve('v')
    l_0_example = resolve('example')
    l_0_leaf = resolve('leaf')
    l_0_node = resolve('node')
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
    try:
        t_4 = environment.filters['ticks']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'ticks' found.")
    pass
    yield '# '
    yield str(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'name'))
    yield ' training data\n\nThe tokenized training data of '
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
        yield " (the release's `README.md`)"
    yield ': '
    yield str(t_3(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'chunks')))
    yield ' chunks of `int32` rows of '
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'seq_len'))
    yield ' token ids ('
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'total_tokens'))
    yield ' tokens in all), in the exact order the model was trained on them. Chunk files are safetensors; `'
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'index'))
    yield "` lists each chunk's sha256 and the Merkle root of its rows.\n"
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'sources'):
        pass
        yield '\n## Sources\n\n| Source | Bytes | Documents | In chunks | Recorded |\n|---|---|---|---|---|\n'
        for l_1_s in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'sources'):
            _loop_vars = {}
            pass
            yield '| '
            yield str(t_1(environment.getattr(l_1_s, 'source')))
            yield ' | '
            yield str((environment.getattr(l_1_s, 'bytes') or '–'))
            yield ' | '
            yield str((environment.getattr(l_1_s, 'documents') or '–'))
            yield ' | '
            yield str((t_2(context.eval_ctx, environment.getattr(l_1_s, 'chunks'), ', ') or '–'))
            yield ' | '
            yield str(t_1(environment.getattr(l_1_s, 'recorded')))
            yield ' |\n'
        l_1_s = missing
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'documents_from_index'):
            pass
            yield '\nDocuments are counted from `'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'index'))
            yield '`: the documents of each source that have tokens in a training chunk.\n'
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'stages'):
        pass
        yield '\n## Mixture\n\nThe chunks were drawn stage by stage from the sources above, each stage at its target ratios (`'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'index'))
        yield "` holds the mixture; every chunk file's `sources` tensor gives each row's source and epoch, and the build recounted the table below from them). Repeated: rows of a source's second or later epoch; epochs: the rows a stage took of a source over the rows it has.\n"
        for l_1_st in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'stages'):
            _loop_vars = {}
            pass
            yield '\n### Stage `'
            yield str(environment.getattr(l_1_st, 'name'))
            yield '`: chunks '
            yield str(environment.getattr(l_1_st, 'chunks'))
            yield ', '
            yield str(environment.getattr(l_1_st, 'sequences'))
            yield ' sequences, '
            yield str(environment.getattr(l_1_st, 'tokens'))
            yield ' tokens'
            if environment.getattr(l_1_st, 'schedule'):
                pass
                yield ' (its own learning-rate schedule: '
                yield str(environment.getattr(l_1_st, 'schedule'))
                yield ')'
            yield '\n\n| Source | Category | License | Target | Realised | Sequences | Tokens | Repeated | Epochs |\n|---|---|---|---|---|---|---|---|---|\n'
            for l_2_s in environment.getattr(l_1_st, 'sources'):
                _loop_vars = {}
                pass
                yield '| '
                yield str(t_1(environment.getattr(l_2_s, 'name')))
                yield ' | '
                yield str(t_1(environment.getattr(l_2_s, 'category')))
                yield ' | '
                yield str(t_1(environment.getattr(l_2_s, 'license')))
                yield ' | '
                yield str(environment.getattr(l_2_s, 'target'))
                yield ' | '
                yield str(environment.getattr(l_2_s, 'realised'))
                yield ' | '
                yield str(environment.getattr(l_2_s, 'sequences'))
                yield ' | '
                yield str(environment.getattr(l_2_s, 'tokens'))
                yield ' | '
                yield str(environment.getattr(l_2_s, 'repeated'))
                yield ' | '
                yield str(environment.getattr(l_2_s, 'epochs'))
                yield ' |\n'
            l_2_s = missing
            yield '\n| Category | Target | Realised | Sequences | Tokens | Repeated |\n|---|---|---|---|---|---|\n'
            for l_2_c in environment.getattr(l_1_st, 'categories'):
                _loop_vars = {}
                pass
                yield '| '
                yield str(t_1(environment.getattr(l_2_c, 'name')))
                yield ' | '
                yield str(environment.getattr(l_2_c, 'target'))
                yield ' | '
                yield str(environment.getattr(l_2_c, 'realised'))
                yield ' | '
                yield str(environment.getattr(l_2_c, 'sequences'))
                yield ' | '
                yield str(environment.getattr(l_2_c, 'tokens'))
                yield ' | '
                yield str(environment.getattr(l_2_c, 'repeated'))
                yield ' |\n'
            l_2_c = missing
        l_1_st = missing
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'mixture_plot'):
            pass
            yield '\n!['
            yield str(environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'mixture_plot'), 'title'))
            yield ']('
            yield str(environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'mixture_plot'), 'path'))
            yield ')\n'
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'):
        pass
        yield '\n## Held-out set\n\n`'
        yield str(environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'path'))
        yield '`'
        if environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'sha256'):
            pass
            yield ' (sha256 `'
            yield str(environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'sha256'))
            yield '`)'
        if environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'sequences'):
            pass
            yield ' holds '
            yield str(environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'sequences'))
            yield ' rows of '
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'seq_len'))
            yield ' tokens ('
            yield str(environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'tokens'))
            yield ' tokens)'
        if environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'fraction'):
            pass
            yield ', a fraction '
            yield str(environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'fraction'))
            yield " of the corpus's rows"
        yield ', set aside before chunking and never trained on by any checkpoint.\n'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'shuffle'):
            pass
            yield 'How rows were split: '
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'shuffle'))
            yield '.\n'
        if environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'evaluated'):
            pass
            yield "Every checkpoint's held-out loss, perplexity and next-token accuracy are measured on the first "
            yield str(environment.getattr(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'heldout'), 'evaluated'))
            yield ' of these rows, as its eval record states.\n'
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'config'):
        pass
        yield '\n## Preparation\n\n| Setting | Value |\n|---|---|\n'
        for l_1_row in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'config'):
            _loop_vars = {}
            pass
            yield '| `'
            yield str(environment.getattr(l_1_row, 'key'))
            yield '` | '
            yield str(t_1(environment.getattr(l_1_row, 'value')))
            yield ' |\n'
        l_1_row = missing
    yield '\n## Tokenizer\n\n'
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'tokenizer'):
        pass
        yield '| Setting | Value |\n|---|---|\n'
        for l_1_row in environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'tokenizer'):
            _loop_vars = {}
            pass
            yield '| `'
            yield str(environment.getattr(l_1_row, 'key'))
            yield '` | '
            yield str(t_1(environment.getattr(l_1_row, 'value')))
            yield ' |\n'
        l_1_row = missing
        yield '\n'
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'model'), 'tokenizer'):
        pass
        yield 'Tokenizer file: `'
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'model'), 'tokenizer'))
        yield '`'
        if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'model'), 'tokenizer_sha256'):
            pass
            yield ' (sha256 `'
            yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'model'), 'tokenizer_sha256'))
            yield '`)'
        yield '.\n\n'
    yield 'Sequence length: '
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'seq_len'))
    yield ' tokens per row.\n\n## Chunks\n\n| Chunk | File | Sequences | Tokens | sha256 | Merkle root | Trained into |\n|---|---|---|---|---|---|---|\n'
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
        yield ' | `'
        yield str(environment.getattr(l_1_c, 'sha256'))
        yield '` | `'
        yield str(environment.getattr(l_1_c, 'merkle_root'))
        yield '` | '
        yield str(t_4(environment.getattr(l_1_c, 'trained_in')))
        yield ' |\n'
    l_1_c = missing
    if environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'chunks'):
        pass
        l_0_example = environment.getitem(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'chunks'), 0)
        context.vars['example'] = l_0_example
        context.exported_vars.add('example')
        yield '\n## Verify one row\n\n'
        if (environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'merkle_format') == 'rfc6962'):
            pass
            yield "The roots are RFC 6962 Merkle trees: each row's leaf is sha256(0x00 || its little-endian `int32` bytes); a node is sha256(0x01 || left || right) and an odd last node moves up unchanged. Recompute the root of chunk "
            yield str(environment.getattr((undefined(name='example') if l_0_example is missing else l_0_example), 'index'))
            yield " and check one row's place in it (`llm360 trace --proof` prints a row's inclusion proof):\n"
        else:
            pass
            yield "Each row's leaf is the sha256 of its little-endian `int32` bytes; a node is sha256(left || right) and an odd last node moves up unchanged. Recompute the root of chunk "
            yield str(environment.getattr((undefined(name='example') if l_0_example is missing else l_0_example), 'index'))
            yield " and check one row's place in it:\n"
        yield '\n```python\nimport hashlib\n\nimport numpy as np\nfrom safetensors.numpy import load_file\n\n(rows,) = load_file("'
        yield str(environment.getattr((undefined(name='example') if l_0_example is missing else l_0_example), 'path'))
        yield '").values()  # int32 [sequences, '
        yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'seq_len'))
        yield ']\n'
        (l_0_leaf, l_0_node) = (('b"\\x00" + ', 'b"\\x01" + ') if (environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'merkle_format') == 'rfc6962') else ('', ''))
        context.vars.update({'leaf': l_0_leaf, 'node': l_0_node})
        context.exported_vars.update(('leaf', 'node'))
        yield 'leaves = [hashlib.sha256('
        yield str((undefined(name='leaf') if l_0_leaf is missing else l_0_leaf))
        yield 'np.ascontiguousarray(r, dtype="<i4").tobytes()).digest() for r in rows]\n\ndef merkle_root(level):\n    while len(level) > 1:\n        up = [hashlib.sha256('
        yield str((undefined(name='node') if l_0_node is missing else l_0_node))
        yield 'level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]\n        level = up + level[-1:] if len(level) % 2 else up\n    return level[0].hex()\n\nassert merkle_root(leaves) == "'
        yield str(environment.getattr((undefined(name='example') if l_0_example is missing else l_0_example), 'merkle_root'))
        yield '"\nrow = 0  # the row to check: its leaf is leaves[row]\nprint(rows[row][:8], leaves[row].hex())\n```\n'
    yield '\n## License\n\n'
    yield str(environment.getattr(environment.getattr((undefined(name='v') if l_0_v is missing else l_0_v), 'data'), 'license'))
    yield '\n'

blocks = {}
debug_info = '2=40&4=42&5=67&11=70&12=74&14=85&16=88&19=90&23=93&24=95&26=99&31=113&32=117&37=137&38=141&41=155&43=158&46=162&50=165&51=187&52=190&54=192&55=195&58=197&64=200&65=204&71=210&74=213&75=217&79=223&80=226&83=235&89=237&90=241&92=256&93=258&97=262&98=265&100=270&109=273&110=277&111=281&115=283&119=285&127=288'
