import type { InferCreationAttributes, Sequelize, Transaction } from 'sequelize';
import type { SubscriptionPlan, Template } from '../models';
import type { Resolution, TemplateData } from '../models/json';

/** Every listed column given explicitly, so a rerun resets any hand edit of seeded values. */
type Defined<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

type PlanSeed = Defined<
  Pick<
    InferCreationAttributes<SubscriptionPlan>,
    'code' | 'name' | 'price_monthly' | 'price_yearly' | 'currency' | 'monthly_credits' | 'max_channels' | 'max_projects' | 'features' | 'is_active' | 'display_order'
  >
>;

type TemplateSeed = Defined<
  Pick<InferCreationAttributes<Template>, 'id' | 'name' | 'description' | 'template_type' | 'vertical' | 'content_format' | 'template_data' | 'is_active' | 'is_premium'>
>;

/** The plans of seed §3.2.1, prices in KRW (yearly ≈ ten months); every flag grows with the tier. */
export const SUBSCRIPTION_PLANS: readonly PlanSeed[] = [
  {
    code: 'starter',
    name: 'Starter',
    price_monthly: 19_900,
    price_yearly: 199_000,
    currency: 'KRW',
    monthly_credits: 30,
    max_channels: 1,
    max_projects: 3,
    features: {
      advanced_templates: false,
      priority_rendering: false,
      api_access: false,
      white_label: false,
      analytics_pro: false,
      custom_voices: false,
      team_seats: 1,
    },
    is_active: true,
    display_order: 1,
  },
  {
    code: 'pro',
    name: 'Pro',
    price_monthly: 49_900,
    price_yearly: 499_000,
    currency: 'KRW',
    monthly_credits: 120,
    max_channels: 3,
    max_projects: 10,
    features: {
      advanced_templates: true,
      priority_rendering: true,
      api_access: false,
      white_label: false,
      analytics_pro: true,
      custom_voices: false,
      team_seats: 3,
    },
    is_active: true,
    display_order: 2,
  },
  {
    code: 'business',
    name: 'Business',
    price_monthly: 149_000,
    price_yearly: 1_490_000,
    currency: 'KRW',
    monthly_credits: 500,
    max_channels: 10,
    max_projects: 50,
    features: {
      advanced_templates: true,
      priority_rendering: true,
      api_access: true,
      white_label: true,
      analytics_pro: true,
      custom_voices: true,
      team_seats: 10,
    },
    is_active: true,
    display_order: 3,
  },
];

interface LayoutOptions {
  resolution: Resolution;
  duration: number;
  sceneDuration: number;
  /** Caption size in pixels; larger for older viewers. */
  captionSize: number;
  maxCharsPerLine: number;
  /** Karaoke unless the audience reads better without a moving highlight. */
  captionMode?: 'karaoke' | 'classic';
  colors: TemplateData['colors'];
}

/** The intro/body/outro layout every system template shares, scaled by its options. */
function layout(o: LayoutOptions): TemplateData {
  const portrait = o.resolution === '1080x1920';
  return {
    duration: o.duration,
    resolution: o.resolution,
    elements: {
      intro: { duration: 3, animation: 'zoom_in', title: { font_size: Math.round(o.captionSize * 1.6), font_weight: 'bold', position: 'center' } },
      body: {
        scene_duration: o.sceneDuration,
        transition: portrait ? 'cut' : 'fade',
        motion: 'ken_burns',
        caption: {
          font_size: o.captionSize,
          font_weight: 'bold',
          position: portrait ? 'center' : 'bottom',
          background: '#000000B3',
          max_chars_per_line: o.maxCharsPerLine,
          mode: o.captionMode ?? 'karaoke',
        },
      },
      outro: { duration: 4, animation: 'fade', cta: { font_size: Math.round(o.captionSize * 1.2), font_weight: 'bold', position: 'center' } },
    },
    fonts: ['Noto Sans CJK KR'],
    colors: o.colors,
  };
}

/** System templates (no owner) per format; their fixed ids are the key that makes seeding idempotent. */
export const SYSTEM_TEMPLATES: readonly TemplateSeed[] = [
  {
    id: '1117e223-5bff-485d-9bc6-3a30f29cdb26',
    name: '숏폼 기본',
    description: '세로 1080x1920, 60초: 훅 자막, 장면별 큰 자막, 마무리 CTA',
    template_type: 'system',
    vertical: null,
    content_format: 'short',
    template_data: layout({
      resolution: '1080x1920',
      duration: 60,
      sceneDuration: 5,
      captionSize: 64,
      maxCharsPerLine: 14,
      colors: { primary: '#FF6B35', secondary: '#004E89', background: '#101418', text: '#FFFFFF' },
    }),
    is_active: true,
    is_premium: false,
  },
  {
    id: '3ff3c0b9-2b36-4b2c-a278-03846203d2d9',
    name: '숏폼 금융 브리핑',
    description: '세로 1080x1920, 45초: 빠른 장면 전환과 수치 강조용 색상',
    template_type: 'system',
    vertical: 'finance',
    content_format: 'short',
    template_data: layout({
      resolution: '1080x1920',
      duration: 45,
      sceneDuration: 4,
      captionSize: 60,
      maxCharsPerLine: 15,
      colors: { primary: '#00C896', secondary: '#1B2A41', background: '#0B1320', text: '#F5F7FA' },
    }),
    is_active: true,
    is_premium: false,
  },
  {
    id: '83658ba0-a7ae-4035-ac73-b57cad82f52c',
    name: '숏폼 시니어 건강',
    description: '세로 1080x1920, 60초: 큰 글씨, 짧은 줄, 느린 장면',
    template_type: 'system',
    vertical: 'senior_health',
    content_format: 'short',
    template_data: layout({
      resolution: '1080x1920',
      duration: 60,
      sceneDuration: 6,
      captionSize: 80,
      captionMode: 'classic',
      maxCharsPerLine: 11,
      colors: { primary: '#2E7D32', secondary: '#FFF8E1', background: '#FFFFFF', text: '#1A1A1A' },
    }),
    is_active: true,
    is_premium: false,
  },
  {
    id: 'f9d6b030-3404-49e5-88ca-652c543169e8',
    name: '미드폼 기본',
    description: '가로 1920x1080, 3분: 하단 자막과 페이드 전환',
    template_type: 'system',
    vertical: null,
    content_format: 'mid',
    template_data: layout({
      resolution: '1920x1080',
      duration: 180,
      sceneDuration: 8,
      captionSize: 52,
      maxCharsPerLine: 28,
      colors: { primary: '#FF6B35', secondary: '#004E89', background: '#101418', text: '#FFFFFF' },
    }),
    is_active: true,
    is_premium: false,
  },
  {
    id: '59a038c7-8b15-47c8-8538-a8b30096c79b',
    name: '롱폼 기본',
    description: '가로 1920x1080, 10분: 챕터형 구성, 하단 자막',
    template_type: 'system',
    vertical: null,
    content_format: 'long',
    template_data: layout({
      resolution: '1920x1080',
      duration: 600,
      sceneDuration: 10,
      captionSize: 48,
      maxCharsPerLine: 32,
      colors: { primary: '#FF6B35', secondary: '#004E89', background: '#101418', text: '#FFFFFF' },
    }),
    is_active: true,
    is_premium: false,
  },
];

type SqlValue = string | number | boolean | null | object;

/**
 * INSERT … ON CONFLICT DO UPDATE that writes only when a value differs, so a rerun changes
 * nothing (not even updated_at, which the BEFORE UPDATE trigger would bump). Columns not named
 * (usage_count, created_at) keep their values.
 */
async function upsert(sequelize: Sequelize, transaction: Transaction, table: string, key: string, row: Record<string, SqlValue>): Promise<void> {
  const columns = Object.keys(row);
  const values = columns.map((column) => {
    const value = row[column] as SqlValue;
    return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
  });
  const placeholders = columns.map((column, i) => {
    const value = row[column];
    return value !== null && typeof value === 'object' ? `$${i + 1}::jsonb` : `$${i + 1}`;
  });
  const updated = columns.filter((column) => column !== key);
  const sql = `INSERT INTO ${table} AS t (${columns.join(', ')}) VALUES (${placeholders.join(', ')})
    ON CONFLICT (${key}) DO UPDATE SET ${updated.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}
    WHERE (${updated.map((column) => `t.${column}`).join(', ')}) IS DISTINCT FROM (${updated.map((column) => `EXCLUDED.${column}`).join(', ')})`;
  await sequelize.query(sql, { bind: values, transaction });
}

/**
 * Loads the plans and system templates; safe to run at every start. Plans are keyed by `code`,
 * templates by their fixed ids. All of it commits together or not at all.
 */
export async function seedReferenceData(sequelize: Sequelize): Promise<void> {
  await sequelize.transaction(async (transaction) => {
    for (const plan of SUBSCRIPTION_PLANS) await upsert(sequelize, transaction, 'subscription_plans', 'code', { ...plan });
    for (const template of SYSTEM_TEMPLATES) await upsert(sequelize, transaction, 'templates', 'id', { ...template });
  });
}
