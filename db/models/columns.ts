import { DataTypes } from 'sequelize';
import type { Model, ModelAttributeColumnOptions } from 'sequelize';

/**
 * Column helpers shared by the models. The schema belongs to the SQL migrations: models never
 * sync. A column with a SQL default is left out of the INSERT when unset and comes back through
 * RETURNING, so SQL defaults are not repeated here; `allowNull: false` is set only on NOT NULL
 * columns without a default, which are exactly the ones a create must name.
 */

/*
 * Column definitions are functions, not shared constants: Sequelize writes into the definition
 * object it is given (field, references, …), so one object reused by two columns mixes them up.
 */

/** UUID primary key generated client-side, so a built instance knows its id before insert. */
export function uuidPrimaryKey() {
  return { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 };
}

export function requiredUuid() {
  return { type: DataTypes.UUID, allowNull: false };
}

export const withTimestamps = { timestamps: true, createdAt: 'created_at', updatedAt: 'updated_at' } as const;
export const createdAtOnly = { timestamps: true, createdAt: 'created_at', updatedAt: false } as const;

/**
 * DECIMAL columns come back from pg as strings (to keep exact digits). Every DECIMAL of this
 * schema has at most 10 significant digits, which a double holds exactly, so the models read
 * them as numbers. Sums across rows belong in SQL, not in JavaScript.
 */
export function decimal<M extends Model>(column: string, precision: number, scale: number, allowNull = true): ModelAttributeColumnOptions<M> {
  return {
    type: DataTypes.DECIMAL(precision, scale),
    allowNull,
    get(this: M): number | null {
      const value: unknown = (this as Model).getDataValue(column);
      return value === null || value === undefined ? null : Number(value);
    },
  };
}

interface GetterOptions {
  plain?: boolean;
  clone?: boolean;
}

/**
 * A getter that reads the column normally (`instance.column`) but yields undefined in plain
 * serialisations: `toJSON()`, `get({ plain: true })` and the nested instances of an `include`,
 * which Sequelize serialises with `get({ plain: true })` rather than their own toJSON. Sequelize
 * passes its get options to custom getters, which is what tells the two apart.
 */
export function hiddenFromSerialisation<M extends Model>(column: string): (this: M) => unknown {
  return function (this: M, _key?: string, options?: GetterOptions): unknown {
    return options?.plain || options?.clone ? undefined : (this as Model).getDataValue(column);
  };
}

/** Drops the hidden columns' keys, which `get({ plain: true })` keeps with undefined values. */
export function withoutKeys(values: object, keys: readonly string[]): object {
  const copy: Record<string, unknown> = { ...values };
  for (const key of keys) delete copy[key];
  return copy;
}
