import { QueryTypes, type Sequelize } from 'sequelize';

/** One restore drill as recorded (recovery_drills). */
export interface RecoveryDrillRecord {
  id: string;
  status: 'passed' | 'failed';
  target: string | null;
  backup_label: string | null;
  rpo_seconds: number | null;
  rto_seconds: number | null;
  tables_verified: number | null;
  error: string | null;
  workflow_id: string | null;
  started_at: Date;
  finished_at: Date;
}

export type NewRecoveryDrill = Omit<RecoveryDrillRecord, 'id'>;

/** The row with its NUMERIC columns as numbers (pg answers them as strings). */
function numeric(row: RecoveryDrillRecord & { rpo_seconds: string | number | null; rto_seconds: string | number | null }): RecoveryDrillRecord {
  return { ...row, rpo_seconds: row.rpo_seconds === null ? null : Number(row.rpo_seconds), rto_seconds: row.rto_seconds === null ? null : Number(row.rto_seconds) };
}

export class RecoveryDrillRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async record(drill: NewRecoveryDrill): Promise<string> {
    const [row] = await this.sequelize.query<{ id: string }>(
      `INSERT INTO recovery_drills (status, target, backup_label, rpo_seconds, rto_seconds, tables_verified, error, workflow_id, started_at, finished_at)
       VALUES (:status, :target, :backup_label, :rpo_seconds, :rto_seconds, :tables_verified, :error, :workflow_id, :started_at, :finished_at)
       RETURNING id`,
      { type: QueryTypes.SELECT, replacements: drill },
    );
    return row!.id;
  }

  async byId(id: string): Promise<RecoveryDrillRecord | undefined> {
    const [row] = await this.sequelize.query<RecoveryDrillRecord & { rpo_seconds: string | null; rto_seconds: string | null }>('SELECT * FROM recovery_drills WHERE id = :id', {
      type: QueryTypes.SELECT,
      replacements: { id },
    });
    return row && numeric(row);
  }

  /** The newest drills first. */
  async latest(limit: number): Promise<RecoveryDrillRecord[]> {
    const rows = await this.sequelize.query<RecoveryDrillRecord & { rpo_seconds: string | null; rto_seconds: string | null }>(
      'SELECT * FROM recovery_drills ORDER BY started_at DESC LIMIT :limit',
      { type: QueryTypes.SELECT, replacements: { limit } },
    );
    return rows.map(numeric);
  }
}
