#!/bin/bash
# Sourced by the mongo image's entrypoint once, when the data volume is first initialised: the
# application gets a user limited to its own database instead of the root account. Its
# credentials reach mongosh through the environment, not the command line. Being sourced, this
# file sets no shell options of its own; a missing variable still aborts the initialisation.

: "${MONGO_APP_DATABASE:?MONGO_APP_DATABASE is required}"
: "${MONGO_APP_USER:?MONGO_APP_USER is required}"
: "${MONGO_APP_PASSWORD:?MONGO_APP_PASSWORD is required}"

mongosh --quiet --host 127.0.0.1 \
  --username "$MONGO_INITDB_ROOT_USERNAME" --password "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin \
  --eval "
    const name = process.env.MONGO_APP_DATABASE;
    db.getSiblingDB(name).createUser({
      user: process.env.MONGO_APP_USER,
      pwd: process.env.MONGO_APP_PASSWORD,
      roles: [{ role: 'readWrite', db: name }],
    });
  "
