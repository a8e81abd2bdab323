#!/bin/sh
# The compose stack's S3 service: SeaweedFS (`weed mini`: master, volume, filer and S3 API in
# one process) with its data in /data, a named volume, so a restart keeps the lake and the
# Amplitude archive. Two S3 identities, from the environment (.env):
#   ELT_S3_ADMIN_*     everything (deploy/init.py creates the lake bucket with it)
#   ELT_S3_PIPELINE_*  read, write and list the lake bucket only (the lake_s3 connection)
# The identities file is written to /tmp at each start, never to the volume.
set -eu
: "${ELT_S3_ADMIN_ACCESS_KEY:?}" "${ELT_S3_ADMIN_SECRET_KEY:?}"
: "${ELT_S3_PIPELINE_ACCESS_KEY:?}" "${ELT_S3_PIPELINE_SECRET_KEY:?}" "${ELT_LAKE_BUCKET:?}"
umask 077
cat > /tmp/s3.json <<JSON
{
  "identities": [
    {
      "name": "elt-admin",
      "credentials": [{"accessKey": "${ELT_S3_ADMIN_ACCESS_KEY}", "secretKey": "${ELT_S3_ADMIN_SECRET_KEY}"}],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    },
    {
      "name": "elt-pipeline",
      "credentials": [{"accessKey": "${ELT_S3_PIPELINE_ACCESS_KEY}", "secretKey": "${ELT_S3_PIPELINE_SECRET_KEY}"}],
      "actions": ["Read:${ELT_LAKE_BUCKET}", "Write:${ELT_LAKE_BUCKET}", "List:${ELT_LAKE_BUCKET}"]
    }
  ]
}
JSON
exec weed mini -dir=/data -ip.bind=0.0.0.0 -s3.port=8333 -s3.config=/tmp/s3.json \
  -webdav=false -admin.ui=false -s3.port.iceberg=0
