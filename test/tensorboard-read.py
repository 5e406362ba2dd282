"""Reads a TensorBoard log folder with TensorBoard's own Python backend and prints what its dashboards
would show, as JSON: every scalar series, the HParams experiment and the HParams session groups.
Used by test/tensorboard.test.ts: python3 test/tensorboard-read.py <logdir>"""
import json
import sys

from google.protobuf import json_format
from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

logdir = sys.argv[1]
mux = plugin_event_multiplexer.EventMultiplexer()
mux.AddRunsFromDirectory(logdir)
mux.Reload()
provider = data_provider.MultiplexerDataProvider(mux, logdir)
ctx = context.RequestContext()

scalars = {}
for run, tags in provider.read_scalars(ctx, experiment_id="", plugin_name="scalars", downsample=100000).items():
    scalars[run] = {tag: [[p.step, p.value] for p in points] for tag, points in tags.items()}

hparams = backend_context.Context(base_plugin.TBContext(data_provider=provider, logdir=logdir))
metadata = hparams.hparams_metadata(ctx, "")
experiment = hparams.experiment_from_metadata(ctx, "", True, metadata, hparams.hparams_from_data_provider(ctx, "", None))
request = api_pb2.ListSessionGroupsRequest(
    start_index=0,
    slice_size=1000,
    allowed_statuses=[api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE, api_pb2.STATUS_RUNNING],
    col_params=[api_pb2.ColParams(hparam=h.name) for h in experiment.hparam_infos]
    + [api_pb2.ColParams(metric=m.name) for m in experiment.metric_infos],
)
groups = list_session_groups.Handler(ctx, hparams, "", request).run()

print(
    json.dumps(
        {
            "scalars": scalars,
            "experiment": json_format.MessageToDict(experiment, preserving_proto_field_name=True),
            "session_groups": json_format.MessageToDict(groups, preserving_proto_field_name=True).get("session_groups", []),
        }
    )
)
